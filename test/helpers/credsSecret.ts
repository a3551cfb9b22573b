/** Runs RegistryCredsSecret under the mocks and returns the Secret exactly as it would be sent to the cluster. */
import { RegistryCredsSecret, RegistryCredsSecretArgs } from "../../components";
import { recordResources, settle, unwrapSecrets } from "./pulumiMocks";

export interface RenderedSecret {
    type: string;
    metadata: { name: string; namespace: string };
    /** Data key to base64 value, as in the Kubernetes API. */
    data: Record<string, string>;
}

const mocks = recordResources();

export async function renderCredsSecret(args: RegistryCredsSecretArgs): Promise<RenderedSecret> {
    mocks.reset();
    const creds = new RegistryCredsSecret("creds", args);
    await settle(creds.dockerConfigJson, creds.secretName);
    const secrets = mocks.ofType("kubernetes:core/v1:Secret");
    if (secrets.length !== 1) throw new Error(`expected one Secret, got ${secrets.length}`);
    return unwrapSecrets(secrets[0].inputs);
}

/** The config.json a pod mounting this Secret would see. */
export function configJsonOf(secret: RenderedSecret): string {
    const values = Object.values(secret.data);
    if (values.length !== 1) throw new Error(`expected one data key, got ${Object.keys(secret.data)}`);
    return Buffer.from(values[0], "base64").toString("utf8");
}
