/**
 * The Kubernetes Pod Security Standards, "baseline" and "restricted" levels, as checks on a pod
 * spec: https://kubernetes.io/docs/concepts/security/pod-security-standards/ (the controls and
 * allowed values below follow that page's tables, Kubernetes v1.32). Each violation names the
 * control and the place in the spec.
 */

type Spec = Record<string, any>;

/** Capabilities the baseline level allows a container to add. */
const BASELINE_CAPABILITIES = new Set([
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
]);
/** Sysctls the baseline level allows. */
const SAFE_SYSCTLS = new Set([
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
]);
/** Volume types the restricted level allows. */
const RESTRICTED_VOLUMES = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"]);

function containersOf(spec: Spec): [string, Spec][] {
    return (["initContainers", "containers", "ephemeralContainers"] as const).flatMap((kind) =>
        ((spec[kind] ?? []) as Spec[]).map((c): [string, Spec] => [`${kind}[${c.name}]`, c]),
    );
}

/** Violations of the baseline level. */
export function baselineViolations(spec: Spec): string[] {
    const v: string[] = [];
    const podSc = spec.securityContext ?? {};
    if (podSc.windowsOptions?.hostProcess) v.push("HostProcess: securityContext.windowsOptions.hostProcess");
    for (const ns of ["hostNetwork", "hostPID", "hostIPC"]) if (spec[ns]) v.push(`Host Namespaces: ${ns}`);
    for (const vol of spec.volumes ?? []) if (vol.hostPath) v.push(`HostPath Volumes: volumes[${vol.name}]`);
    for (const s of podSc.sysctls ?? []) if (!SAFE_SYSCTLS.has(s.name)) v.push(`Sysctls: ${s.name}`);
    const seccomp = (sc: Spec | undefined, where: string) => {
        if (sc?.seccompProfile?.type === "Unconfined") v.push(`Seccomp: ${where}.seccompProfile Unconfined`);
    };
    const seLinux = (sc: Spec | undefined, where: string) => {
        const o = sc?.seLinuxOptions;
        if (!o) return;
        if (o.type !== undefined && !["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"].includes(o.type)) {
            v.push(`SELinux: ${where}.seLinuxOptions.type ${o.type}`);
        }
        if (o.user || o.role) v.push(`SELinux: ${where}.seLinuxOptions user/role`);
    };
    const appArmor = (sc: Spec | undefined, where: string) => {
        const t = sc?.appArmorProfile?.type;
        if (t !== undefined && t !== "RuntimeDefault" && t !== "Localhost") v.push(`AppArmor: ${where}.appArmorProfile ${t}`);
    };
    seccomp(podSc, "securityContext");
    seLinux(podSc, "securityContext");
    appArmor(podSc, "securityContext");
    for (const [where, c] of containersOf(spec)) {
        const sc = c.securityContext ?? {};
        if (sc.privileged) v.push(`Privileged Containers: ${where}`);
        if (sc.windowsOptions?.hostProcess) v.push(`HostProcess: ${where}`);
        for (const cap of sc.capabilities?.add ?? []) if (!BASELINE_CAPABILITIES.has(cap)) v.push(`Capabilities: ${where} adds ${cap}`);
        for (const p of c.ports ?? []) if (p.hostPort) v.push(`Host Ports: ${where} hostPort ${p.hostPort}`);
        if (sc.procMount !== undefined && sc.procMount !== "Default") v.push(`/proc Mount Type: ${where}`);
        seccomp(sc, `${where}.securityContext`);
        seLinux(sc, `${where}.securityContext`);
        appArmor(sc, `${where}.securityContext`);
    }
    return v;
}

/** Violations of the restricted level (which includes baseline). */
export function restrictedViolations(spec: Spec): string[] {
    const v = baselineViolations(spec);
    const podSc = spec.securityContext ?? {};
    for (const vol of spec.volumes ?? []) {
        const type = Object.keys(vol).find((k) => k !== "name");
        if (!type || !RESTRICTED_VOLUMES.has(type)) v.push(`Volume Types: volumes[${vol.name}] is ${type}`);
    }
    for (const [where, c] of containersOf(spec)) {
        const sc = c.securityContext ?? {};
        if (sc.allowPrivilegeEscalation !== false) v.push(`Privilege Escalation: ${where} allowPrivilegeEscalation is not false`);
        if (sc.runAsNonRoot !== true && podSc.runAsNonRoot !== true) v.push(`Running as Non-root: ${where} runAsNonRoot is not true`);
        if (sc.runAsUser === 0 || (sc.runAsUser === undefined && podSc.runAsUser === 0)) v.push(`Running as Non-root user: ${where} runAsUser 0`);
        const profile = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
        if (profile !== "RuntimeDefault" && profile !== "Localhost") v.push(`Seccomp: ${where} has no RuntimeDefault or Localhost profile`);
        if (!(sc.capabilities?.drop ?? []).includes("ALL")) v.push(`Capabilities: ${where} does not drop ALL`);
        for (const cap of sc.capabilities?.add ?? []) if (cap !== "NET_BIND_SERVICE") v.push(`Capabilities: ${where} adds ${cap}`);
    }
    return v;
}
