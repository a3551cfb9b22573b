process.chdir("/work/main");
const b = require("/work/main/bin/render/renderStack.js");
const pulumi = require("@pulumi/pulumi");
if (process.env.NOREG) pulumi.ComponentResource.prototype.registerOutputs = function () {};
const k8s = require("@pulumi/kubernetes");
const fs = require("fs");
const { clusterInitStack } = require("/work/main/bin/stack.js");
const cfg = { ...b.projectConfigDefaults(fs.readFileSync("Pulumi.yaml", "utf8")), ...b.readConfigFile("render/sample-config.yaml") };
function programValue(value) {
  if (b.isWireSecret(value)) return pulumi.secret(programValue(value.value));
  if (Array.isArray(value)) return value.map(programValue);
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, programValue(v)]));
  return value;
}
const wait = async (res, n) => { while (res.length < n) await new Promise((r) => setImmediate(r)); };
let N = 13, kube;
async function comp() { const res = b.recordRegistrations("bench"); pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(cfg).map(([k, v]) => [`kaniko-builder:${k}`, v])), b.STACK_SECRET_KEYS.filter((k) => k in cfg).map((k) => `kaniko-builder:${k}`)); clusterInitStack(); await wait(res, N); return res; }
async function raw() { const res = b.recordRegistrations("bench"); for (const o of kube) { const [, gv, kind] = o.type.split(":"); const [g, v] = gv.split("/"); const { apiVersion, kind: _k, ...args } = o.inputs; new k8s[g.split(".")[0]][v][kind](o.name, programValue(args)); } await wait(res, kube.length); }
(async () => {
  const first = await comp(); for (let i = 0; i < 300; i++) await new Promise((r) => setImmediate(r));
  N = first.length; kube = first.filter((r) => r.type.startsWith("kubernetes:"));
  const t = { c: [], r: [] };
  for (let i = 0; i < 20; i++) { await comp(); await raw(); }
  for (let i = 0; i < 400; i++) {
    let s = performance.now(); await comp(); t.c.push(performance.now() - s);
    s = performance.now(); await raw(); t.r.push(performance.now() - s);
  }
  const med = (x) => x.sort((a, b) => a - b)[x.length >> 1];
  console.log(`components ${med(t.c).toFixed(2)} raw ${med(t.r).toFixed(2)} ratio ${(med(t.c) / med(t.r)).toFixed(2)} registrations ${N}`);
  process.exit(0);
})();
