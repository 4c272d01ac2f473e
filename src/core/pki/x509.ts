/**
 * The one entry point to @peculiar/x509. The library needs the Reflect metadata shim installed
 * before it loads, and Bun evaluates a CommonJS package before the ES modules imported next to it,
 * so the library is required here, after the shim, instead of imported.
 */
import "./reflect-metadata.ts";

export const x509 = require("@peculiar/x509") as typeof import("@peculiar/x509");

// Type-only: erased at run time, so they load nothing ahead of the shim.
export type { Extension, JsonGeneralName, X509Certificate } from "@peculiar/x509";
