/**
 * Validates Kubernetes objects against the API's OpenAPI schema with `kubernetes-models`
 * (generated from the Kubernetes OpenAPI spec), picking the model from apiVersion and kind.
 */
export function validateK8sObject(object: { apiVersion: string; kind: string; [key: string]: unknown }): void {
    // "v1" -> kubernetes-models/v1/Secret, "apps/v1" -> kubernetes-models/apps/v1/Deployment
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const module = require(`kubernetes-models/${object.apiVersion}/${object.kind}`);
    const Model = module[object.kind];
    if (typeof Model !== "function") {
        throw new Error(`no schema model for ${object.apiVersion} ${object.kind}`);
    }
    new Model(object).validate();
}
