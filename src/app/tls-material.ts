/**
 * The PEM files the two ports serve with, read and checked before anything listens, so a wrong
 * file is reported by its config key, its path and why, not by OpenSSL's "NO_START_LINE" at bind.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { readBoundedText } from "../core/config/file.ts";
import type { Config } from "../core/config/types.ts";
import { ConfigError } from "../core/errors.ts";
import type { ClientTrust } from "../core/identity/trust.ts";
import { loadTrust } from "./trust-files.ts";

const MAX_PEM_BYTES = 1024 * 1024;

export interface AgentTls {
  certPem: string;
  keyPem: string;
  /** `agent.client_ca` and `[agent.trust_domains]`, parsed (PEM or SPIFFE bundles). */
  trust: ClientTrust;
}

export interface WebTls {
  cert: string;
  key: string;
}

export async function readAgentTls(config: Config): Promise<AgentTls> {
  const { tlsCert, tlsKey } = config.agent;
  const [certPem, keyPem] = await readPair(
    { path: tlsCert, key: "agent.tls_cert" },
    { path: tlsKey, key: "agent.tls_key" },
  );
  return { certPem, keyPem, trust: await loadTrust(config.agent) };
}

/** Undefined when the web port serves plain HTTP (TLS terminated in front). */
export async function readWebTls(config: Config): Promise<WebTls | undefined> {
  const { tlsCert, tlsKey } = config.web;
  if (tlsCert === undefined || tlsKey === undefined) return undefined;
  const [cert, key] = await readPair(
    { path: tlsCert, key: "web.tls_cert" },
    { path: tlsKey, key: "web.tls_key" },
  );
  return { cert, key };
}

/** A CA bundle: at least one certificate, and the first one parses. */
export async function readCertificates(path: string, key: string): Promise<string> {
  const pem = await readBoundedText(path, MAX_PEM_BYTES, key);
  certificateOf(pem, path, key);
  return pem;
}

interface PemFile {
  path: string;
  key: string;
}

/** A certificate chain and its private key; the key must be the leaf's (RFC 5280 subjectPublicKeyInfo). */
async function readPair(cert: PemFile, key: PemFile): Promise<[string, string]> {
  const certPem = await readBoundedText(cert.path, MAX_PEM_BYTES, cert.key);
  const keyPem = await readBoundedText(key.path, MAX_PEM_BYTES, key.key);
  const leaf = certificateOf(certPem, cert.path, cert.key);
  const privateKey = privateKeyOf(keyPem, key.path, key.key);
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new ConfigError(
      key.key,
      `${key.path} does not match the certificate in ${cert.key} (${cert.path})`,
    );
  }
  return [certPem, keyPem];
}

function certificateOf(pem: string, path: string, key: string): X509Certificate {
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    const swapped = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem);
    throw new ConfigError(
      key,
      swapped ? `${path} holds a private key, not a certificate` : `${path} holds no PEM certificate`,
    );
  }
  try {
    return new X509Certificate(pem);
  } catch (cause) {
    throw new ConfigError(key, `${path}: the first certificate does not parse`, { cause });
  }
}

function privateKeyOf(pem: string, path: string, key: string): KeyObject {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem)) {
    throw new ConfigError(key, `${path} is encrypted; give the key without a passphrase`);
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    const swapped = pem.includes("-----BEGIN CERTIFICATE-----");
    throw new ConfigError(
      key,
      swapped ? `${path} holds a certificate, not a private key` : `${path} holds no PEM private key`,
    );
  }
  try {
    return createPrivateKey(pem);
  } catch {
    // The cause is not attached: OpenSSL's message could quote key material.
    throw new ConfigError(key, `${path}: the private key does not parse`);
  }
}
