#!/usr/bin/env bash
# Scans every node of the current kubectl context and its objects with
# Kubernetes Jobs, collects the JSON reports and merges them into one fleet
# report. Kubernetes schedules and runs the work; this script only applies
# the manifests, waits, and reads the logs.
#
#   deploy/fleet.sh [OUT_DIR]     (default: ./rampart-reports)
#
# Needs kubectl (with rights to create the namespace, RBAC and Jobs) and a
# local rampart for the merge. The image rampart:0.1.0 is built from
# deploy/Containerfile; set RAMPART_IMAGE to use another name.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-rampart-reports}
image=${RAMPART_IMAGE:-rampart:0.1.0}
timeout=${RAMPART_JOB_TIMEOUT:-600}
mkdir -p "$out"

kubectl apply -f "$here/namespace.yaml" -f "$here/rbac.yaml"
sed "s|image: rampart:0.1.0|image: $image|" "$here/cluster-job.yaml" | kubectl apply -f -
jobs=(rampart-cluster)
for node in $(kubectl get nodes -o jsonpath='{.items[*].metadata.name}'); do
  sed -e "s|__NODE__|$node|g" -e "s|image: rampart:0.1.0|image: $image|" "$here/node-job.yaml" | kubectl apply -f -
  jobs+=("rampart-node-$node")
done

# A Job is done when it succeeded or gave up; exit 2 (an incomplete scan)
# fails the Job, and its report is collected all the same.
deadline=$((SECONDS + timeout))
for job in "${jobs[@]}"; do
  until [[ -n "$(kubectl -n rampart get job "$job" -o jsonpath='{.status.succeeded}{.status.failed}')" ]]; do
    if (( SECONDS > deadline )); then echo "timed out waiting for job/$job" >&2; exit 2; fi
    sleep 5
  done
  kubectl -n rampart logs "job/$job" > "$out/$job.json"
done

# Exit code as for one scan: 1 when a control fails, 2 when a report is
# incomplete (a forbidden kind, a node that could not be read).
status=0
rampart merge --format json -o "$out/fleet.json" "$out"/rampart-*.json || status=$?
rampart merge --soft-fail "$out"/rampart-*.json || true
echo "fleet report: $out/fleet.json" >&2
exit "$status"
