process.chdir("/work/main");
const om = require("@pulumi/pulumi/output");
let n = 0; const Orig = om.Output;
const where = {};
om.Output = new Proxy(Orig, { construct(t, a) { n++; if (process.env.WHERE) { const s = new Error().stack.split("\n").slice(2).find((l) => l.includes("/bin/")); const k = s ? s.trim().replace(/^at /, "").replace(/\(.*\/bin\//, "(").replace(/:\d+\)$/, ")") : "sdk"; where[k] = (where[k] || 0) + 1; } return Reflect.construct(t, a); } });
const b = require("/work/main/bin/render/renderStack.js");
const pulumi = require("@pulumi/pulumi");
const k8s = require("@pulumi/kubernetes");
const fs = require("fs");
const { clusterInitStack } = require("/work/main/bin/stack.js");
const cfg = { ...b.projectConfigDefaults(fs.readFileSync("Pulumi.yaml", "utf8")), ...b.readConfigFile("render/sample-config.yaml") };
const settle = async () => { for (let i = 0; i < 300; i++) await new Promise((r) => setImmediate(r)); };
function programValue(value) { if (b.isWireSecret(value)) return pulumi.secret(programValue(value.value)); if (Array.isArray(value)) return value.map(programValue); if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, programValue(v)])); return value; }
(async () => {
  const res = b.recordRegistrations("bench");
  pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(cfg).map(([k, v]) => [`kaniko-builder:${k}`, v])), b.STACK_SECRET_KEYS.filter((k) => k in cfg).map((k) => `kaniko-builder:${k}`));
  clusterInitStack(); await settle();
  console.log("components Outputs", n); if (process.env.WHERE) console.log(Object.entries(where).sort((a, b) => b[1] - a[1]).slice(0, 40).map(([k, v]) => `${v} ${k}`).join("\n"));
  n = 0;
  const kube = res.filter((r) => r.type.startsWith("kubernetes:")); b.recordRegistrations("bench");
  for (const o of kube) { const [, gv, kind] = o.type.split(":"); const [g, v] = gv.split("/"); const { apiVersion, kind: _k, ...args } = o.inputs; new k8s[g.split(".")[0]][v][kind](o.name, programValue(args)); }
  await settle(); console.log("raw Outputs", n); process.exit(0);
})();
