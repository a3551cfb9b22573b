/** The local registry's TLS material (components/registry/tls.ts): stable across runs, renewed by its issue time, a CA that signs only this. */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { registryTls, TLS_VALIDITY_DAYS } from "../components/registry/tls";

const INPUT = { key: "unit-test-secret-key-0123456789abcdef", identity: "cluster/ci/registry", issued: "2026-12-03T10:00:00Z", dnsNames: ["registry.ci.svc.cluster.local", "localhost"], ipAddresses: ["127.0.0.1", "CLUSTER-IP"] };

test("unchanged inputs give byte-identical certificates and key (no diff on re-runs)", async () => {
    expect(await registryTls(INPUT)).toEqual(await registryTls({ ...INPUT }));
});

test("a new issue time renews both certificates and the key; another secret key gives others", async () => {
    const first = await registryTls(INPUT);
    const renewed = await registryTls({ ...INPUT, issued: "2028-06-01T00:00:00Z" });
    expect(renewed.caCertificate).not.toBe(first.caCertificate);
    expect(renewed.certificate).not.toBe(first.certificate);
    expect(renewed.privateKey).not.toBe(first.privateKey);
    expect((await registryTls({ ...INPUT, key: `${INPUT.key}-other` })).privateKey).not.toBe(first.privateKey);
});

test("valid from an hour before the issue time for five years; the CA is a CA for this one level, the server certificate is not", async () => {
    const t = await registryTls(INPUT);
    const ca = new x509.X509Certificate(t.caCertificate);
    const cert = new x509.X509Certificate(t.certificate);
    expect(cert.notBefore.toISOString()).toBe("2026-12-03T09:00:00.000Z");
    expect(cert.notAfter.toISOString()).toBe(new Date(Date.parse(INPUT.issued) + TLS_VALIDITY_DAYS * 86_400_000).toISOString());
    expect(t.notAfter).toBe(cert.notAfter.toISOString());
    expect(ca.getExtension(x509.BasicConstraintsExtension)).toMatchObject({ ca: true, pathLength: 0 });
    expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
    expect(await cert.verify({ publicKey: await ca.publicKey.export(), signatureOnly: true })).toBe(true);
    // Only valid IP addresses become IP names (a stand-in such as the render's CLUSTER-IP does not).
    expect(cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([
        { type: "dns", value: "registry.ci.svc.cluster.local" },
        { type: "dns", value: "localhost" },
        { type: "ip", value: "127.0.0.1" },
    ]);
});

test("an issue time that is not a time is refused", async () => {
    await expect(registryTls({ ...INPUT, issued: "yesterday" })).rejects.toThrow(/is not a time/);
});
