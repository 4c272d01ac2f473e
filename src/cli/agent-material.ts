/**
 * The client certificate, key and CA bundle for the agent port, checked locally first. Bun's fetch
 * reports a bad key, a key that does not match the certificate, or an unparsable CA bundle all as
 * "FailedToOpenSocket"; checking here lets the one-line error say which file is wrong and why.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { SurrogateError } from "../core/errors.ts";
import { inputError, readFileBytes, utf8Of } from "./input.ts";

/** A certificate chain or CA bundle of this size is already unusual; larger is a mistake. */
const MAX_PEM_BYTES = 256 * 1024;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export interface AgentMaterial {
  certPem: string;
  keyPem: string;
  caPem?: string;
}

interface MaterialPaths {
  certPath: string;
  keyPath: string;
  caPath?: string;
}

export async function loadAgentMaterial(paths: MaterialPaths, now: number): Promise<AgentMaterial> {
  const certPem = await readPem(paths.certPath, "--cert");
  const leaf = leafOf(certPem, paths.certPath);
  const keyPem = await readPem(paths.keyPath, "--key");
  checkKeyMatches(leaf, privateKeyOf(keyPem, paths.keyPath), paths);
  checkValidity(leaf, paths.certPath, now);
  if (paths.caPath === undefined) return { certPem, keyPem };
  const caPem = await readPem(paths.caPath, "--ca");
  certificatesIn(caPem, "--ca", paths.caPath);
  return { certPem, keyPem, caPem };
}

async function readPem(path: string, label: string): Promise<string> {
  return utf8Of(await readFileBytes(path, MAX_PEM_BYTES, label), `${label} ${path}`);
}

/** Every PEM certificate block in `pem`, each parsed; at least one. */
export function certificatesIn(pem: string, label: string, path: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw inputError(`cannot read ${label} ${path}: no PEM certificate in it`);
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw inputError(`cannot read ${label} ${path}: certificate #${index + 1} does not parse`, error);
    }
  });
}

function leafOf(pem: string, path: string): X509Certificate {
  const [leaf] = certificatesIn(pem, "--cert", path);
  if (leaf === undefined) throw inputError(`cannot read --cert ${path}: no certificate`);
  return leaf;
}

function privateKeyOf(pem: string, path: string): KeyObject {
  if (pem.includes("ENCRYPTED")) {
    throw inputError(`cannot read --key ${path}: encrypted private keys are not supported`);
  }
  try {
    return createPrivateKey(pem);
  } catch (error) {
    // The parser's message is not echoed: it is about key material.
    throw inputError(`cannot read --key ${path}: not a PEM private key`, error);
  }
}

function checkKeyMatches(leaf: X509Certificate, key: KeyObject, paths: MaterialPaths): void {
  if (!leaf.checkPrivateKey(key)) {
    throw inputError(`--key ${paths.keyPath} is not the private key of --cert ${paths.certPath}`);
  }
}

/** The broker would only reset the connection; saying why here saves a confusing round trip. */
function checkValidity(leaf: X509Certificate, path: string, now: number): void {
  if (leaf.validToDate.getTime() < now) {
    throw new SurrogateError(
      "certificate_invalid",
      `--cert ${path} expired on ${leaf.validToDate.toISOString()}`,
    );
  }
  if (leaf.validFromDate.getTime() > now) {
    throw new SurrogateError(
      "certificate_invalid",
      `--cert ${path} is not valid before ${leaf.validFromDate.toISOString()}`,
    );
  }
}
