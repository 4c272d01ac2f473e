import { describe, expect, test } from "bun:test";
import packageJson from "../../../package.json" with { type: "json" };
import { VERSION } from "../../../src/core/version.ts";
import { cli } from "./io.ts";

describe("surrogate version", () => {
  test("from source, the version is package.json's", () => {
    expect(VERSION).toBe(packageJson.version);
  });

  test.each([[["version"]], [["--version"]]])("%p prints version, commit and runtime", async (argv) => {
    const result = await cli(argv);
    expect(result).toEqual({
      code: 0,
      stdout: `surrogate ${packageJson.version} (source; bun ${Bun.version})\n`,
      stderr: "",
    });
  });

  test("refuses arguments", async () => {
    const result = await cli(["version", "--verbose"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith("surrogate version: Unknown option '--verbose'");
    expect(result.stdout).toBe("");
  });
});
