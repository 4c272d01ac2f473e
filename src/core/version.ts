import packageJson from "../../package.json" with { type: "json" };

/** Replaced at build time by scripts/build.ts (`define`); absent when running from source. */
declare const SURROGATE_VERSION: string | undefined;
declare const SURROGATE_COMMIT: string | undefined;

/** The release version: embedded by the build, else read from package.json when running from source. */
export const VERSION: string =
  typeof SURROGATE_VERSION === "string" ? SURROGATE_VERSION : packageJson.version;

/** The git commit the binary was built from, or "source" when running from a checkout. */
export const COMMIT: string = typeof SURROGATE_COMMIT === "string" ? SURROGATE_COMMIT : "source";
