/**
 * The Chrome extension's identity. The manifest carries this public key, so every build of
 * Tandem's extension (unpacked or zipped) has the id below, and servers accept it as an origin
 * without configuration (TANDEM_EXTENSION_IDS adds others, e.g. a store-signed build).
 * The private key is not needed to load or zip the extension and is not kept.
 */
export const CHROME_EXTENSION_KEY =
  'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAmvVjx7QkPNFCo1OrU+wKrQPrTcSnQG1Vph0UUBls0imcWEJew36SMGOskozHYC++S8Rv8kn5B2xClysEbXBmCfy/JKa1TncZB7jmX7JPyy/QQdjLJvLSErAFaEqoxFH5ubPTgn+aQ/8LTMm+lDclp/JE5c1INT+Cc52p5Jd9gqARhYdt3Od/DaEXZlX1TStLGXYEGqXPznzi+P7CWFNKrtNFoyhfafbQyW41SCDyrlGSXtON19kRA0SGxjeg3atwuUd3V8y/Rhw+Y46r4TCfd+4fSHpKl17Xjr8lJQZMVioGZX78fiDu44MRvw670wQxCerTWn6EW59ZFgMmugS5VQIDAQAB';

/** Derived from the key: the first 128 bits of its SHA-256, as letters a–p. */
export const CHROME_EXTENSION_ID = 'kngadbpkahfgepibefgiamcfbcfilble';
