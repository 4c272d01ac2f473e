import { expect, test } from "bun:test";

const ROOT = new URL("../../../../", import.meta.url).pathname;

// @peculiar/x509 needs a global Reflect metadata shim; it is for generating certificates (dev,
// tests) only. Every command and the serve path read certificates with node:crypto and ./der.ts.
test("loading the CLI and the server installs no Reflect metadata shim (@peculiar/x509 not loaded)", async () => {
  const script = `await (await import("./src/cli/commands.ts")).loadCommands(); await import("./src/app/serve.ts");
const { describeCertificate } = await import("./src/core/identity/certificate.ts");
console.log(typeof Reflect.getMetadata, typeof describeCertificate);`;
  const child = Bun.spawn(["bun", "-e", script], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  expect((await new Response(child.stdout).text()).trim()).toBe("undefined function");
  expect(await child.exited).toBe(0);
});
