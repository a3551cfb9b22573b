/**
 * The local registry's TLS material: a CA and a server certificate for the registry's names, made
 * with @peculiar/x509 (X.509 and ASN.1 from a maintained library, WebCrypto for the keys).
 *
 * Unchanged inputs give the same bytes on every run, so that previews show no diff: the keys are
 * Ed25519 keys whose 32-byte seeds are derived from the registry's secret key (random, kept in the
 * stack's state: see secretKey.ts), and Ed25519 signatures are deterministic. The validity starts
 * at `issued` (the creation time of an object kept in the state, so that replacing that object
 * renews both certificates) and lasts TLS_VALIDITY_DAYS.
 */
import "reflect-metadata";
import { createPrivateKey, webcrypto } from "crypto";
import { isIP } from "net";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import { PrivateKeyInfo } from "@peculiar/asn1-pkcs8";
import { AlgorithmIdentifier } from "@peculiar/asn1-x509";
import * as x509 from "@peculiar/x509";
import { keyed } from "./files";

// The library takes WebCrypto as the browser names it; Node's is the same interface.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
type CryptoKey = webcrypto.CryptoKey;

/** How long the CA and the server certificate are valid from their issue time: five years. */
export const TLS_VALIDITY_DAYS = 1826;
/** How long before the issue time the validity starts, for nodes whose clocks are behind. */
const CLOCK_SKEW_MS = 60 * 60 * 1000;
/** The Ed25519 algorithm's object identifier (RFC 8410). */
const ED25519_OID = "1.3.101.112";

/** What the certificates are made from. */
export interface RegistryTlsInput {
    /** The registry's secret key. */
    key: string;
    /** The registry's identity (`cluster/<namespace>/<name>`): the CA's name, and part of every derivation. */
    identity: string;
    /** When the material was issued (an RFC 3339 time): the start of the validity. */
    issued: string;
    /** The server certificate's DNS names and IP addresses (the first DNS name is its common name). */
    dnsNames: string[];
    ipAddresses: string[];
}

/** The CA certificate (public), the server certificate and its private key, PEM-encoded. */
export interface RegistryTls {
    caCertificate: string;
    certificate: string;
    privateKey: string;
    /** The end of both certificates' validity (RFC 3339). */
    notAfter: string;
}

/** An Ed25519 key pair from a 32-byte seed (its PKCS #8 form built by the ASN.1 library, then imported). */
async function ed25519FromSeed(seed: Buffer): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey; pem: string }> {
    const info = new PrivateKeyInfo({ privateKeyAlgorithm: new AlgorithmIdentifier({ algorithm: ED25519_OID }), privateKey: new OctetString(AsnConvert.serialize(new OctetString(seed))) });
    const keyObject = createPrivateKey({ key: Buffer.from(AsnConvert.serialize(info)), format: "der", type: "pkcs8" });
    const jwk = keyObject.export({ format: "jwk" });
    const subtle = webcrypto.subtle;
    const privateKey = await subtle.importKey("jwk", jwk, { name: "Ed25519" }, true, ["sign"]);
    const publicKey = await subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x }, { name: "Ed25519" }, true, ["verify"]);
    return { privateKey, publicKey, pem: keyObject.export({ format: "pem", type: "pkcs8" }).toString() };
}

/** A positive serial number of 16 bytes, as hex. */
function serial(bytes: Buffer): string {
    const b = Buffer.from(bytes.subarray(0, 16));
    b[0] = (b[0] & 0x7f) | 0x01;
    return b.toString("hex");
}

/** The CA and server certificates (see the module's comment). */
export async function registryTls(i: RegistryTlsInput): Promise<RegistryTls> {
    const issued = new Date(i.issued);
    if (Number.isNaN(issued.getTime())) throw new Error(`registry TLS: the issue time ${JSON.stringify(i.issued)} is not a time`);
    const notBefore = new Date(issued.getTime() - CLOCK_SKEW_MS);
    const notAfter = new Date(issued.getTime() + TLS_VALIDITY_DAYS * 24 * 60 * 60 * 1000);
    const derive = (purpose: string) => keyed(i.key, `tls/${purpose}/v1`, i.identity, issued.toISOString());
    const ca = await ed25519FromSeed(derive("ca-key"));
    const caCert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serial(derive("ca-serial")),
        name: [{ CN: [`kaniko-builder registry CA ${i.identity}`] }],
        notBefore,
        notAfter,
        keys: { privateKey: ca.privateKey, publicKey: ca.publicKey } as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]["keys"],
        signingAlgorithm: { name: "Ed25519" },
        extensions: [
            new x509.BasicConstraintsExtension(true, 0, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
            await x509.SubjectKeyIdentifierExtension.create(ca.publicKey),
        ],
    });
    const server = await ed25519FromSeed(derive("server-key"));
    const names = [...i.dnsNames.map((value) => ({ type: "dns" as const, value })), ...i.ipAddresses.filter((ip) => isIP(ip) !== 0).map((value) => ({ type: "ip" as const, value }))];
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serial(derive("server-serial")),
        subject: [{ CN: [i.dnsNames[0]] }],
        issuer: caCert.subject,
        notBefore,
        notAfter,
        publicKey: server.publicKey,
        signingKey: ca.privateKey,
        signingAlgorithm: { name: "Ed25519" },
        extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
            new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
            new x509.SubjectAlternativeNameExtension(names),
            await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey),
        ],
    });
    return { caCertificate: `${caCert.toString("pem")}\n`, certificate: `${cert.toString("pem")}\n`, privateKey: server.pem, notAfter: notAfter.toISOString() };
}
