# SPDX-License-Identifier: Apache-2.0
# Sourced by scripts that run podman or buildah with a private configuration
# (CONTAINERS_CONF) rather than the host's /etc/containers.
#
# write_containers_conf FILE writes a containers.conf that works on machines
# without systemd and with cgroup v1: runc (crun fails there), cgroupfs, a file
# events log, the netavark network backend, and ulimits that runc accepts
# (it rejects RLIMIT_NPROC above 32768 and RLIMIT_NOFILE above the hard limit).
write_containers_conf() {
  cat >"$1" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
network_backend = "netavark"
CONF
}
