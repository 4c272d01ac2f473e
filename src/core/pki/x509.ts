/**
 * The one entry point to @peculiar/x509. The library needs the Reflect metadata shim installed
 * before it loads, and Bun evaluates a CommonJS package before the ES modules imported next to it,
 * so the library is required here, after the shim, instead of imported.
 */
import "./reflect-metadata.ts";

const x509 = require("@peculiar/x509") as typeof import("@peculiar/x509");

export const {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  PemConverter,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate,
  X509CertificateGenerator,
} = x509;

type Lib = typeof import("@peculiar/x509");
export type Extension = import("@peculiar/x509").Extension;
export type JsonGeneralName = import("@peculiar/x509").JsonGeneralName;
export type X509Certificate = InstanceType<Lib["X509Certificate"]>;
export type BasicConstraintsExtension = InstanceType<Lib["BasicConstraintsExtension"]>;
export type ExtendedKeyUsageExtension = InstanceType<Lib["ExtendedKeyUsageExtension"]>;
export type KeyUsagesExtension = InstanceType<Lib["KeyUsagesExtension"]>;
export type SubjectAlternativeNameExtension = InstanceType<Lib["SubjectAlternativeNameExtension"]>;
