import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { loadAgentMaterial } from "../../../src/cli/agent-material.ts";
import { resolveAgentOptions } from "../../../src/cli/agent-options.ts";
import type { CliContext } from "../../../src/cli/command.ts";
import type { Env } from "../../../src/core/config/types.ts";
import { type PkiFiles, writePkiFiles } from "./agent-fixture.ts";

function context(env: Env = {}): CliContext {
  return { env, cwd: "/work", stdout: { write: () => {} }, stderr: { write: () => {} } };
}

describe("resolveAgentOptions", () => {
  const full = { broker: "https://broker.example:8443", cert: "a.pem", key: "a.key", ca: "ca.pem" };

  test("flags resolve paths against the working directory", () => {
    expect(resolveAgentOptions(full, context())).toEqual({
      broker: "https://broker.example:8443",
      certPath: "/work/a.pem",
      keyPath: "/work/a.key",
      caPath: "/work/ca.pem",
    });
  });

  test("SURROGATE_* variables fill in what flags leave out; flags win", () => {
    const env = {
      SURROGATE_BROKER: "https://env.example/",
      SURROGATE_CERT: "/etc/c.pem",
      SURROGATE_KEY: "/etc/c.key",
      SURROGATE_CA: "/etc/ca.pem",
    };
    expect(resolveAgentOptions({}, context(env))).toEqual({
      broker: "https://env.example",
      certPath: "/etc/c.pem",
      keyPath: "/etc/c.key",
      caPath: "/etc/ca.pem",
    });
    expect(resolveAgentOptions({ cert: "mine.pem" }, context(env))).toMatchObject({
      certPath: "/work/mine.pem",
    });
  });

  test("--ca is optional (system CAs)", () => {
    expect(resolveAgentOptions({ ...full, ca: undefined }, context())).not.toHaveProperty("caPath");
  });

  test.each([
    [{ ...full, broker: undefined }, "missing --broker URL (or SURROGATE_BROKER)"],
    [{ ...full, cert: undefined }, "missing --cert FILE (or SURROGATE_CERT)"],
    [{ ...full, key: undefined }, "missing --key FILE (or SURROGATE_KEY)"],
    [
      { ...full, broker: "http://broker.example" },
      "--broker: must be an https:// URL (the agent port uses mTLS)",
    ],
    [{ ...full, broker: "not a url" }, "--broker: not a URL"],
    [
      { ...full, broker: "https://u:p@broker.example" },
      "--broker: must not carry credentials, a query or a fragment",
    ],
    [
      { ...full, broker: "https://broker.example/?x=1" },
      "--broker: must not carry credentials, a query or a fragment",
    ],
  ])("refuses %j", (values, problem) => {
    expect(resolveAgentOptions(values, context())).toBe(problem);
  });

  test("an empty variable counts as unset", () => {
    expect(resolveAgentOptions({}, context({ SURROGATE_BROKER: "" }))).toBe(
      "missing --broker URL (or SURROGATE_BROKER)",
    );
  });
});

describe("loadAgentMaterial", () => {
  let files: PkiFiles;
  beforeAll(async () => {
    files = await writePkiFiles();
  });
  afterAll(() => files.cleanup());

  test("reads certificate, key and CA bundle when they belong together", async () => {
    const material = await loadAgentMaterial(
      { certPath: files.alphaCert, keyPath: files.alphaKey, caPath: files.ca },
      Date.now(),
    );
    expect(material).toEqual({
      certPem: files.pki.alpha.certPem,
      keyPem: files.pki.alpha.keyPem,
      caPem: files.pki.ca.certPem,
    });
  });

  const cases: [string, (f: PkiFiles) => { certPath: string; keyPath: string; caPath?: string }, string][] = [
    [
      "missing key file",
      (f) => ({ certPath: f.alphaCert, keyPath: `${f.dir}/nope.key` }),
      "cannot read --key .*nope.key: no such file or directory \\(ENOENT\\)",
    ],
    [
      "key that is not PEM",
      (f) => ({ certPath: f.alphaCert, keyPath: f.garbage }),
      "cannot read --key .*garbage.txt: not a PEM private key",
    ],
    [
      "key of another certificate",
      (f) => ({ certPath: f.alphaCert, keyPath: f.betaKey }),
      "--key .*beta.key is not the private key of --cert .*alpha.pem",
    ],
    [
      "certificate that is not PEM",
      (f) => ({ certPath: f.garbage, keyPath: f.alphaKey }),
      "cannot read --cert .*garbage.txt: no PEM certificate in it",
    ],
    [
      "expired certificate",
      (f) => ({ certPath: f.expiredCert, keyPath: f.expiredKey }),
      "--cert .*expired.pem expired on ",
    ],
    [
      "CA bundle that is not PEM",
      (f) => ({ certPath: f.alphaCert, keyPath: f.alphaKey, caPath: f.garbage }),
      "cannot read --ca .*garbage.txt: no PEM certificate in it",
    ],
  ];
  test.each(cases)("refuses a %s, naming the flag and the file", async (_name, paths, message) => {
    await expect(loadAgentMaterial(paths(files), Date.now())).rejects.toThrow(new RegExp(message));
  });
});
