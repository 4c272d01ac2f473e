import { X509Certificate } from "node:crypto";
import { IdentityError } from "../errors.ts";
import {
  bitsOf,
  booleanOf,
  childrenOf,
  DerError,
  expectTag,
  oidOf,
  readTlv,
  smallIntegerOf,
  TAG,
  type Tlv,
} from "./der.ts";
import { thumbprintOf } from "./thumbprint.ts";

/** RFC 5280 §4.1: certificates this large are not workload certificates; refuse before parsing. */
const MAX_CERTIFICATE_BYTES = 16 * 1024;

/** RFC 5280 §4.2.1.3 KeyUsage bits as numbered by the DER BIT STRING (bit 0 = digitalSignature). */
export const KEY_USAGE = { digitalSignature: 1, keyCertSign: 32 } as const;

/** RFC 5280 §4.2: a critical extension we do not process makes the certificate unusable. */
const BASIC_CONSTRAINTS = "2.5.29.19";
const KEY_USAGE_EXTENSION = "2.5.29.15";
const EXT_KEY_USAGE = "2.5.29.37";
const SUBJECT_ALT_NAME = "2.5.29.17";
const UNDERSTOOD_CRITICAL = new Set([
  BASIC_CONSTRAINTS,
  KEY_USAGE_EXTENSION,
  EXT_KEY_USAGE,
  SUBJECT_ALT_NAME,
]);
/** GeneralName uniformResourceIdentifier: [6] IMPLICIT IA5String (RFC 5280 §4.2.1.6). */
const URI_NAME = 0x86;

/** RFC 4514 §3 short names for the attribute types certificates commonly carry. */
const ATTRIBUTE_NAMES: Readonly<Record<string, string>> = {
  "2.5.4.3": "CN",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "0.9.2342.19200300.100.1.25": "DC",
};

/**
 * One certificate, read once: node:crypto for what OpenSSL does natively (issuer match, signature,
 * public key, validity) and a strict DER walk (./der.ts) for the fields node offers only as
 * ambiguous text or not at all. SubjectAltName in particular comes from the DER GeneralNames,
 * never from node's comma-joined `subjectAltName` string, where a URI containing `, URI:` could
 * pass for a second name.
 */
export interface ParsedCertificate {
  what: string;
  der: Uint8Array;
  /** RFC 8705 §3.1 x5t#S256 of `der`. */
  thumbprint: string;
  node: X509Certificate;
  isCa: boolean;
  pathLength: number | undefined;
  /** KEY_USAGE bits; undefined when the extension is absent. */
  keyUsage: number | undefined;
  /** Extended key usage OIDs; undefined when the extension is absent. */
  extKeyUsage: string[] | undefined;
  /** The URI names of the one SubjectAltName extension, in order. */
  uris: string[];
  commonNames: string[];
  /** RFC 4514 string of the subject, for people. */
  subject: string;
  notBefore: Date;
  notAfter: Date;
  /** The OID of the first critical extension this code does not process. */
  unknownCritical: string | undefined;
}

/** Parses DER, turning any failure into `certificate_invalid` naming `what`. */
export function parseCertificate(der: Uint8Array, what: string): ParsedCertificate {
  if (der.length === 0 || der.length > MAX_CERTIFICATE_BYTES) {
    throw invalid(`${what}: empty or larger than ${MAX_CERTIFICATE_BYTES} bytes`);
  }
  let node: X509Certificate;
  try {
    node = new X509Certificate(der);
  } catch (cause) {
    throw invalid(`${what}: not a DER X.509 certificate`, cause);
  }
  try {
    return { what, der, thumbprint: thumbprintOf(der), node, ...fieldsOf(der, node, what) };
  } catch (cause) {
    if (cause instanceof IdentityError) throw cause;
    throw invalid(`${what}: unreadable ${cause instanceof DerError ? "fields" : "extensions"}`, cause);
  }
}

type Fields = Omit<ParsedCertificate, "what" | "der" | "thumbprint" | "node">;

/**
 * RFC 5280 §4.1: TBSCertificate ::= SEQUENCE { [0] version, serialNumber, signature, issuer,
 * validity, subject, subjectPublicKeyInfo, [1] issuerUID, [2] subjectUID, [3] extensions }.
 */
function fieldsOf(der: Uint8Array, node: X509Certificate, what: string): Fields {
  const certificate = expectTag(readTlv(der, 0, der.length), TAG.sequence, "Certificate");
  const tbs = expectTag(childrenOf(der, certificate)[0], TAG.sequence, "TBSCertificate");
  const parts = childrenOf(der, tbs);
  const rest = parts[0]?.tag === 0xa0 ? parts.slice(1) : parts;
  const subject = expectTag(rest[4], TAG.sequence, "subject");
  const extensions = rest.find((part) => part.tag === 0xa3);
  const fields: Fields = {
    isCa: false,
    pathLength: undefined,
    keyUsage: undefined,
    extKeyUsage: undefined,
    uris: [],
    commonNames: [],
    subject: "",
    notBefore: node.validFromDate,
    notAfter: node.validToDate,
    unknownCritical: undefined,
  };
  readName(der, subject, fields);
  if (extensions !== undefined) {
    const list = expectTag(childrenOf(der, extensions)[0], TAG.sequence, "extensions");
    readExtensions(der, list, fields, what);
  }
  return fields;
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. */
function readExtensions(der: Uint8Array, list: Tlv, fields: Fields, what: string): void {
  const seen = new Set<string>();
  for (const extension of childrenOf(der, list)) {
    const [idTlv, second, third] = childrenOf(der, expectTag(extension, TAG.sequence, "Extension"));
    const id = oidOf(der, expectTag(idTlv, TAG.oid, "extnID"));
    const critical = third !== undefined && booleanOf(der, second as Tlv);
    const octets = expectTag(third ?? second, TAG.octetString, "extnValue");
    // RFC 5280 §4.2: an extension appears at most once; two copies could disagree.
    if (seen.has(id)) throw invalid(`${what}: extension ${id} appears more than once`);
    seen.add(id);
    if (critical && !UNDERSTOOD_CRITICAL.has(id)) fields.unknownCritical ??= id;
    readExtension(der, id, readTlv(der, octets.start, octets.end), fields);
  }
}

function readExtension(der: Uint8Array, id: string, value: Tlv, fields: Fields): void {
  if (id === BASIC_CONSTRAINTS) {
    // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }
    const [first, second] = childrenOf(der, expectTag(value, TAG.sequence, "basicConstraints"));
    const hasFlag = first?.tag === TAG.boolean;
    fields.isCa = hasFlag && booleanOf(der, first);
    const pathLength = hasFlag ? second : first;
    fields.pathLength = pathLength === undefined ? undefined : smallIntegerOf(der, pathLength);
  } else if (id === KEY_USAGE_EXTENSION) {
    fields.keyUsage = bitsOf(der, value);
  } else if (id === EXT_KEY_USAGE) {
    fields.extKeyUsage = childrenOf(der, expectTag(value, TAG.sequence, "extKeyUsage")).map((oid) =>
      oidOf(der, oid),
    );
  } else if (id === SUBJECT_ALT_NAME) {
    fields.uris = childrenOf(der, expectTag(value, TAG.sequence, "subjectAltName"))
      .filter((name) => name.tag === URI_NAME)
      .map((name) => ia5Of(der, name));
  }
}

/** Name ::= SEQUENCE OF SET OF SEQUENCE { type OID, value }: the CNs, and the RFC 4514 text. */
function readName(der: Uint8Array, name: Tlv, fields: Fields): void {
  const rdns: string[] = [];
  for (const rdn of childrenOf(der, name)) {
    const values = childrenOf(der, expectTag(rdn, TAG.set, "RDN")).map((atv) => {
      const [type, value] = childrenOf(der, expectTag(atv, TAG.sequence, "AttributeTypeAndValue"));
      const oid = oidOf(der, type as Tlv);
      const text = directoryString(der, value as Tlv);
      if (oid === "2.5.4.3" && text !== undefined) fields.commonNames.push(text);
      return `${ATTRIBUTE_NAMES[oid] ?? oid}=${text === undefined ? `#${hexOf(der, value as Tlv)}` : escapeValue(text)}`;
    });
    rdns.push(values.join("+"));
  }
  // RFC 4514 §2.1: the last RDN of the sequence is written first.
  fields.subject = rdns.reverse().join(", ");
}

/** UTF8String, PrintableString, IA5String, TeletexString (as Latin-1), BMPString; else undefined. */
function directoryString(der: Uint8Array, value: Tlv): string | undefined {
  const content = der.subarray(value.start, value.end);
  if (value.tag === 0x0c) return new TextDecoder("utf-8", { fatal: true }).decode(content);
  if (value.tag === 0x13 || value.tag === 0x16 || value.tag === 0x14)
    return Buffer.from(content).toString("latin1");
  if (value.tag === 0x1e && content.length % 2 === 0)
    return Buffer.from(content).swap16().toString("utf16le");
  return undefined;
}

/** IA5String is ASCII (X.680 §41): a byte above 0x7F is not a URI we could compare safely. */
function ia5Of(der: Uint8Array, tlv: Tlv): string {
  const content = der.subarray(tlv.start, tlv.end);
  if (content.some((byte) => byte > 0x7f)) throw new DerError("URI SAN is not IA5 (ASCII)");
  return Buffer.from(content).toString("latin1");
}

function hexOf(der: Uint8Array, tlv: Tlv): string {
  return Buffer.from(der.subarray(tlv.start, tlv.end)).toString("hex");
}

function escapeValue(value: string): string {
  return value.replace(/[\\",+;<>=]/g, (c) => `\\${c}`).replace(/^[ #]|[ ]$/g, (c) => `\\${c}`);
}

function invalid(message: string, cause?: unknown): IdentityError {
  return new IdentityError("certificate_invalid", message, cause === undefined ? undefined : { cause });
}
