import { describe, expect, test } from "bun:test";
import { COMMANDS, loadCommands } from "../../../src/cli/commands.ts";
import { globalUsage } from "../../../src/cli/run.ts";
import { cli } from "./io.ts";

const LOADED = await loadCommands();

describe("runCli", () => {
  test.each([["--help"], ["-h"], ["help"]])(
    "%p prints the command list to stdout and exits 0",
    async (flag) => {
      const result = await cli([flag]);
      expect(result).toEqual({ code: 0, stdout: await globalUsage(), stderr: "" });
      for (const command of COMMANDS) expect(result.stdout).toContain(`  ${command.name}`);
    },
  );

  test("no command prints usage to stderr and exits 2", async () => {
    const result = await cli([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(`surrogate: no command given\n\n${await globalUsage()}`);
  });

  test("an unknown command prints usage to stderr and exits 2", async () => {
    const result = await cli(["serv"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`surrogate: unknown command "serv"\n\n${await globalUsage()}`);
  });

  test("help for an unknown command exits 2", async () => {
    const result = await cli(["help", "nope"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith('surrogate: unknown command "nope"');
  });

  test.each(COMMANDS.map((command) => [command.name, command.name]))(
    "%s --help and help %s print that command's usage",
    async (name) => {
      const usage = LOADED.find((command) => command.name === name)?.usage;
      expect(usage).toEndWith("\n");
      expect(await cli([name, "--help"])).toEqual({ code: 0, stdout: usage ?? "", stderr: "" });
      expect(await cli(["help", name])).toEqual({ code: 0, stdout: usage ?? "", stderr: "" });
    },
  );

  test("--help after -- is an argument, not a help request", async () => {
    const result = await cli(["version", "--", "--help"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith("surrogate version: ");
  });

  test("no help text cites a section of a file binary users do not have (DESIGN §…)", () => {
    for (const command of LOADED)
      expect({ name: command.name, cites: /DESIGN §/.test(command.usage) }).toEqual({
        name: command.name,
        cites: false,
      });
  });

  test("each entry loads the command it is named after", () => {
    expect(LOADED.map((command) => command.name)).toEqual(COMMANDS.map((entry) => entry.name));
  });

  test("command names are unique", () => {
    const names = COMMANDS.map((command) => command.name);
    expect(new Set(names).size).toBe(names.length);
  });
});
