import { randomBytes, X509Certificate } from "node:crypto";
import { lstat, mkdir, mkdtemp, open, readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ConfigError } from "../core/errors.ts";
import { writeKeySetsToDir } from "../core/keys/files.ts";
import { DEV_AGENT_ID, DEV_HOST, type DevPaths, type DevPorts, devConfigText } from "./config-text.ts";

/**
 * `./.surrogate-dev/`: the generated material of `surrogate dev`. Created in one piece (built in a
 * temporary sibling, then renamed into place) and reused as long as it is complete; a directory
 * holding only part of it is refused rather than repaired, because silently replacing a CA or a key
 * would invalidate certificates and wrappers someone may still be using.
 */

export const MATERIAL_FILES = {
  caCert: "ca.pem",
  caKey: "ca.key",
  serverCert: "server.pem",
  serverKey: "server.key",
  agentCert: "agent.pem",
  agentKey: "agent.key",
  signingKeys: "signing.jwks",
  encryptionKeys: "encryption.jwks",
  clientSecret: "client-secret",
} as const;

type MaterialName = keyof typeof MATERIAL_FILES;
/** Private keys and secrets: must stay readable by the owner only (like ssh's key checks). */
const SECRET_FILES: readonly MaterialName[] = [
  "caKey",
  "serverKey",
  "agentKey",
  "signingKeys",
  "encryptionKeys",
  "clientSecret",
];
const CERT_FILES: readonly MaterialName[] = ["caCert", "serverCert", "agentCert"];
const CONFIG_FILE = "surrogate.toml";
const TOKEN_FILE = "token.json";
const ADMIN_HASH_FILE = "admin.hash";
const FILE_MODE = 0o600;

export interface DevWorkspace {
  dir: string;
  files: Record<MaterialName, string>;
  configPath: string;
  /** Where the printed `surrogate login … --out` command stores the wrapper. */
  tokenPath: string;
  /** Whether this run generated the material (false: reused from an earlier run). */
  created: boolean;
  /** `--admin`: this start's admin password (its hash is in the workspace). */
  adminPassword?: string;
}

/**
 * Creates or reuses the workspace in `dir` (absolute), then writes its surrogate.toml for `ports`.
 * With `admin`, a new admin password each start: its hash beside the config, the password returned
 * (to be printed, never stored).
 */
export async function prepareWorkspace(
  dir: string,
  ports: DevPorts,
  now: () => number = Date.now,
  admin = false,
): Promise<DevWorkspace> {
  const state = await inspect(dir);
  if (state === "complete") await checkReusable(dir, now());
  else await generateInto(dir);
  const files = pathsIn(dir);
  const configPath = join(dir, CONFIG_FILE);
  const adminPassword = admin ? randomBytes(12).toString("base64url") : undefined;
  const adminHash = join(dir, ADMIN_HASH_FILE);
  if (adminPassword !== undefined) {
    await replaceFile(adminHash, `${await Bun.password.hash(adminPassword, { algorithm: "argon2id" })}\n`);
  }
  const paths = { ...devPaths(files), ...(adminPassword === undefined ? {} : { adminHash }) };
  await replaceFile(configPath, devConfigText(ports, paths));
  const created = state !== "complete";
  return {
    dir,
    files,
    configPath,
    tokenPath: join(dir, TOKEN_FILE),
    created,
    ...(adminPassword && { adminPassword }),
  };
}

function pathsIn(dir: string): Record<MaterialName, string> {
  const entries = Object.entries(MATERIAL_FILES).map(([name, file]) => [name, join(dir, file)]);
  return Object.fromEntries(entries) as Record<MaterialName, string>;
}

function devPaths(files: Record<MaterialName, string>): DevPaths {
  const { caCert, serverCert, serverKey, signingKeys, encryptionKeys, clientSecret } = files;
  return { caCert, serverCert, serverKey, signingKeys, encryptionKeys, clientSecret };
}

async function inspect(dir: string): Promise<"absent" | "empty" | "complete"> {
  const stat = await lstat(dir).catch(() => undefined);
  if (stat === undefined) return "absent";
  if (!stat.isDirectory()) throw refusal(dir, "exists and is not a directory");
  const entries = new Set(await readdir(dir));
  if (entries.size === 0) return "empty";
  const missing = Object.values(MATERIAL_FILES).filter((file) => !entries.has(file));
  if (missing.length === 0) return "complete";
  if (missing.length === Object.keys(MATERIAL_FILES).length)
    throw refusal(dir, "is not empty and is not a surrogate dev directory; choose another --dir");
  throw refusal(
    dir,
    `is incomplete (missing ${missing.join(", ")}); nothing was overwritten. ` +
      "Delete the directory to generate fresh material, or restore the missing files",
  );
}

async function checkReusable(dir: string, now: number): Promise<void> {
  for (const [name, file] of Object.entries(MATERIAL_FILES)) {
    const stat = await lstat(join(dir, file));
    // A symlink could point the broker's keys anywhere; the generated files are always regular.
    if (!stat.isFile()) throw refusal(dir, `${file} is not a regular file`);
    if (SECRET_FILES.includes(name as MaterialName) && (stat.mode & 0o077) !== 0)
      throw refusal(dir, `${file} is readable by other users; run chmod 600 on it`);
  }
  for (const name of CERT_FILES) {
    const file = MATERIAL_FILES[name];
    const validTo = new X509Certificate(await Bun.file(join(dir, file)).text()).validToDate;
    if (validTo.getTime() <= now)
      throw refusal(dir, `${file} has expired; delete the directory to generate fresh material`);
  }
}

/** Built next to `dir` and renamed into place, so an interrupted run never leaves half a workspace. */
async function generateInto(dir: string): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  const temp = await mkdtemp(join(dirname(dir), `.${basename(dir)}-`));
  try {
    await writeMaterial(temp);
    // rename(2) replaces an empty directory atomically (a pre-created, empty --dir).
    await rename(temp, dir);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

async function writeMaterial(dir: string): Promise<void> {
  // Loaded only when material is generated: @peculiar/x509 and its Reflect shim stay out of every
  // other command and out of `serve` (certificates are read with node:crypto, src/core/identity).
  const { createCa, issueCertificate } = await import("../core/pki/issue.ts");
  const ca = await createCa({ commonName: "surrogate DEMO CA (surrogate dev; not for production)" });
  const server = await issueCertificate(ca, {
    commonName: "localhost",
    dnsNames: ["localhost"],
    ipAddresses: [DEV_HOST],
    usage: "server",
  });
  // No subject: a SPIFFE X.509-SVID names the workload by its single URI SAN (X509-SVID §2).
  const agent = await issueCertificate(ca, { uris: [DEV_AGENT_ID], usage: "client" });
  const write = (name: MaterialName, text: string) => writeNew(join(dir, MATERIAL_FILES[name]), text);
  await write("caCert", ca.certPem);
  await write("caKey", ca.keyPem);
  await write("serverCert", server.certPem);
  await write("serverKey", server.keyPem);
  await write("agentCert", agent.certPem);
  await write("agentKey", agent.keyPem);
  await write("clientSecret", `${randomBytes(32).toString("base64url")}\n`);
  await writeKeySetsToDir(dir);
}

/** `wx` with the mode set at creation: the file is never readable by others, not even briefly. */
async function writeNew(path: string, text: string): Promise<void> {
  const handle = await open(path, "wx", FILE_MODE);
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}

async function replaceFile(path: string, text: string): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeNew(temp, text);
    await rename(temp, path);
  } finally {
    await rm(temp, { force: true });
  }
}

function refusal(dir: string, problem: string): ConfigError {
  return new ConfigError("--dir", `${dir} ${problem}`);
}
