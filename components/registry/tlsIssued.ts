/**
 * The TLS material of a registry or a mirror, as resources: the `<name>-tls-issued` ConfigMap,
 * whose creation time is the issue time (replacing it renews the certificates), and the CA and
 * server certificate registryTls derives from the secret key for the Service's names.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { combine, k8sArgs, mapNow, Now } from "../inputs";
import { registryTlsIssuedConfigMap } from "./manifests";
import { RegistryPlanInput } from "./plan";
import { RegistryTls, registryTls } from "./tls";

/** The names a certificate for a Service holds: its names, short and long, localhost, and any address from outside. */
export function serviceDnsNames(name: string, namespace: string, outside?: string): string[] {
    const host = outside?.replace(/:\d+$/, "");
    return [...new Set([`${name}.${namespace}.svc.cluster.local`, `${name}.${namespace}.svc`, `${name}.${namespace}`, name, "localhost", ...(host ? [host] : [])])];
}

/** The material (secret), and its public parts: the CA certificate and when both certificates expire. */
export interface TlsMaterial {
    material: pulumi.Output<RegistryTls>;
    caCertificate: pulumi.Output<string>;
    notAfter: pulumi.Output<string>;
}

/**
 * Declares the issue-time ConfigMap as a child of `parent` and derives the material: for the
 * object `input` (its name and namespace), `identity` (the CA's name and the derivations'
 * context), the secret `key`, and the certificate's `dnsNames` (plus 127.0.0.1).
 */
export function declareTlsMaterial(
    parent: pulumi.Resource,
    name: string,
    plan: Now<{ input: RegistryPlanInput; identity: string; dnsNames: string[] }>,
    key: pulumi.Output<string>,
): TlsMaterial {
    // Delete before replace: `pulumi up --replace` of an object with a fixed name otherwise creates
    // the "new" one over the old (server-side apply: same object, same creation time) and then
    // deletes it (found by the engine tier's renewal test).
    const issued = new k8s.core.v1.ConfigMap(`${name}-tls-issued`, k8sArgs(mapNow(plan, (p) => registryTlsIssuedConfigMap(p.input)), ["metadata", "data"]), { parent, deleteBeforeReplace: true });
    const material = pulumi.secret(
        combine(plan, pulumi.all([key, issued.metadata.creationTimestamp]), (p, [k, time]) =>
            registryTls({ key: k, identity: p.identity, issued: time, dnsNames: p.dnsNames, ipAddresses: ["127.0.0.1"] }),
        ),
    );
    return { material, caCertificate: pulumi.unsecret(material.caCertificate), notAfter: pulumi.unsecret(material.notAfter) };
}
