import { createPrivateKey } from "node:crypto";
import { type Extension, type JsonGeneralName, type X509Certificate, x509 } from "./x509.ts";

/**
 * Certificate material for `surrogate dev` and the tests: a small CA and the server and client
 * certificates it signs. Not a production CA (no revocation, no persistence of serials): real
 * deployments bring their own PKI or SPIFFE trust bundle.
 */

export type CaKeyAlg = "P-256" | "P-384";
export type LeafKeyAlg = "P-256" | "Ed25519";

export interface CaOptions {
  commonName: string;
  /** URI SANs of the CA itself: SPIRE puts its trust domain ID (`spiffe://td`) there. */
  uris?: string[];
  notBefore?: Date;
  notAfter?: Date;
  keyAlg?: CaKeyAlg;
}

export interface IssueOptions {
  commonName?: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  uris?: string[];
  usage: "server" | "client";
  notBefore?: Date;
  notAfter?: Date;
  /** Issue an intermediate (or, in adversarial tests, a CA:TRUE "leaf"). */
  isCa?: boolean;
  /** basicConstraints pathLenConstraint of an issued CA. */
  pathLength?: number;
  /** Overrides the EKU implied by `usage`; an empty list omits the extension. */
  extKeyUsage?: ReadonlyArray<"serverAuth" | "clientAuth">;
  /** Key type of a freshly generated key pair (default P-256). */
  keyAlg?: LeafKeyAlg;
  /** PKCS#8 PEM (P-256 or Ed25519) to certify instead of a new key: a renewal that keeps the key pair. */
  keyPem?: string;
}

export interface IssuedCertificate {
  certPem: string;
  /** PKCS#8 PEM. */
  keyPem: string;
  der: Uint8Array;
}

export interface CertificateAuthority extends IssuedCertificate {
  /** The issuer name as the signed certificates will carry it. */
  subject: string;
  signingKey: CryptoKey;
  signingAlg: CaKeyAlg;
}

const DAY_MS = 86_400_000;
const HASH_FOR: Record<CaKeyAlg, string> = { "P-256": "SHA-256", "P-384": "SHA-384" };

export async function createCa(options: CaOptions): Promise<CertificateAuthority> {
  const alg = options.keyAlg ?? "P-256";
  const keys = await generateKeyPair(alg);
  const name = `CN=${escapeDnValue(options.commonName)}`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name,
    keys,
    ...validity(options.notBefore, options.notAfter, 3650),
    signingAlgorithm: { name: "ECDSA", hash: HASH_FOR[alg] },
    extensions: [
      ...caExtensions(),
      ...(options.uris === undefined
        ? []
        : [new x509.SubjectAlternativeNameExtension(generalNames(options))]),
      await subjectKeyId(keys.publicKey),
    ],
  });
  return {
    ...(await material(cert, keys.privateKey)),
    subject: cert.subject,
    signingKey: keys.privateKey,
    signingAlg: alg,
  };
}

export async function issueCertificate(
  ca: CertificateAuthority,
  options: IssueOptions,
): Promise<IssuedCertificate> {
  const keys =
    options.keyPem === undefined
      ? await generateLeafKeyPair(options.keyAlg)
      : await importKeyPair(options.keyPem);
  const cert = await x509.X509CertificateGenerator.create({
    subject: options.commonName === undefined ? "" : `CN=${escapeDnValue(options.commonName)}`,
    issuer: ca.subject,
    publicKey: keys.publicKey,
    signingKey: ca.signingKey,
    signingAlgorithm: { name: "ECDSA", hash: HASH_FOR[ca.signingAlg] },
    ...validity(options.notBefore, options.notAfter, 365),
    extensions: await leafExtensions(await issuerKeyOf(ca), keys.publicKey, options),
  });
  return material(cert, keys.privateKey);
}

/** A certificate signed by its own key: what a client outside every trust bundle presents. */
export async function issueSelfSigned(options: IssueOptions): Promise<IssuedCertificate> {
  const keys = await generateKeyPair("P-256");
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: options.commonName === undefined ? "" : `CN=${escapeDnValue(options.commonName)}`,
    keys,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    ...validity(options.notBefore, options.notAfter, 365),
    extensions: await leafExtensions(keys.publicKey, keys.publicKey, options),
  });
  return material(cert, keys.privateKey);
}

/** Re-creates a CA from PEM (an issued intermediate, or a CA persisted by `surrogate dev`). */
export async function loadCa(certPem: string, keyPem: string): Promise<CertificateAuthority> {
  const cert = new x509.X509Certificate(certPem);
  const alg = cert.publicKey.algorithm as EcKeyAlgorithm;
  const signingAlg: CaKeyAlg = alg.namedCurve === "P-384" ? "P-384" : "P-256";
  const signingKey = await crypto.subtle.importKey(
    "pkcs8",
    x509.PemConverter.decodeFirst(keyPem),
    { name: "ECDSA", namedCurve: signingAlg },
    true,
    ["sign"],
  );
  return {
    certPem: cert.toString("pem"),
    keyPem,
    der: new Uint8Array(cert.rawData),
    subject: cert.subject,
    signingKey,
    signingAlg,
  };
}

async function leafExtensions(
  issuerKey: CryptoKey,
  publicKey: CryptoKey,
  options: IssueOptions,
): Promise<Extension[]> {
  const extensions: Extension[] = options.isCa
    ? caExtensions(options.pathLength)
    : [
        new x509.BasicConstraintsExtension(false, undefined, true),
        // ECDSA keys only sign: RFC 5280 §4.2.1.3, no keyEncipherment.
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ];
  const eku = options.extKeyUsage ?? [options.usage === "server" ? "serverAuth" : "clientAuth"];
  if (eku.length > 0)
    extensions.push(new x509.ExtendedKeyUsageExtension(eku.map((name) => x509.ExtendedKeyUsage[name])));
  const names = generalNames(options);
  // RFC 5280 §4.2.1.6: with an empty subject the SAN extension must be critical.
  if (names.length > 0)
    extensions.push(new x509.SubjectAlternativeNameExtension(names, options.commonName === undefined));
  extensions.push(await subjectKeyId(publicKey));
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuerKey));
  return extensions;
}

function caExtensions(pathLength?: number): Extension[] {
  return [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
      true,
    ),
  ];
}

function generalNames(options: Pick<IssueOptions, "dnsNames" | "ipAddresses" | "uris">): JsonGeneralName[] {
  return [
    ...(options.dnsNames ?? []).map((value): JsonGeneralName => ({ type: "dns", value })),
    ...(options.ipAddresses ?? []).map((value): JsonGeneralName => ({ type: "ip", value })),
    ...(options.uris ?? []).map((value): JsonGeneralName => ({ type: "url", value })),
  ];
}

async function subjectKeyId(publicKey: CryptoKey): Promise<Extension> {
  return x509.SubjectKeyIdentifierExtension.create(publicKey);
}

async function issuerKeyOf(ca: CertificateAuthority): Promise<CryptoKey> {
  return new x509.X509Certificate(ca.certPem).publicKey.export();
}

async function generateKeyPair(curve: CaKeyAlg): Promise<CryptoKeyPair> {
  // Extractable: the private key is handed out as PKCS#8 PEM for the TLS stacks that use it.
  return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: curve }, true, ["sign", "verify"]);
}

async function generateLeafKeyPair(alg: LeafKeyAlg = "P-256"): Promise<CryptoKeyPair> {
  if (alg !== "Ed25519") return generateKeyPair(alg);
  // The WebCrypto typings describe Ed25519 generateKey as returning CryptoKey | CryptoKeyPair.
  return (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
}

/** The pair behind a PKCS#8 PEM; the public half is rebuilt from the private JWK's public members. */
async function importKeyPair(keyPem: string): Promise<CryptoKeyPair> {
  const jwk = createPrivateKey(keyPem).export({ format: "jwk" });
  const algorithm =
    jwk.kty === "EC" ? { name: "ECDSA", namedCurve: String(jwk.crv) } : { name: String(jwk.crv) };
  const { d: _private, ...publicJwk } = jwk;
  return {
    privateKey: await crypto.subtle.importKey("jwk", jwk, algorithm, true, ["sign"]),
    publicKey: await crypto.subtle.importKey("jwk", publicJwk, algorithm, true, ["verify"]),
  };
}

async function material(cert: X509Certificate, privateKey: CryptoKey): Promise<IssuedCertificate> {
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", privateKey);
  return {
    certPem: cert.toString("pem"),
    keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY"),
    der: new Uint8Array(cert.rawData),
  };
}

function validity(notBefore: Date | undefined, notAfter: Date | undefined, days: number) {
  // Backdated a minute so a freshly issued certificate is valid on a peer whose clock lags slightly.
  const start = notBefore ?? new Date(Date.now() - 60_000);
  return { notBefore: start, notAfter: notAfter ?? new Date(start.getTime() + days * DAY_MS) };
}

/** RFC 4514 §2.4 escaping, so a name such as "a,b" cannot inject extra RDNs. */
function escapeDnValue(value: string): string {
  return value.replace(/[\\",+;<>=]/g, (c) => `\\${c}`).replace(/^[ #]|[ ]$/g, (c) => `\\${c}`);
}
