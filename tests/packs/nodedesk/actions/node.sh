#!/bin/sh
# nodebot's stand-in for kubectl / the node patching tooling.
# Harmless: it only writes files under $OPSBOT_STATE_DIR/nodes and prints.
# Host names are just text; nothing is contacted.
#
# Deterministic behaviour, so tests can reach every path:
#   inspect NODE        prints JSON {"node","pods","kernel"}:
#                         worker-0            -> 0 pods   (the drain step is skipped)
#                         worker-7, gpu-*     -> 42 pods  (busy: the runbook asks before draining)
#                         any other node      -> 12 pods
#                       every node runs kernel 5.15.0-91 before the patch
#   cordon NODE         writes nodes/NODE.cordoned
#   uncordon NODE       removes nodes/NODE.cordoned, writes nodes/NODE.uncordoned
#   drain NODE          writes nodes/NODE.drained, prints "evicted N pods"
#   patch NODE          writes nodes/NODE.kernel (5.15.0-97), prints "installed kernel 5.15.0-97 ..."
#   ready NODE          worker-5 is NotReady on its first try (exit 1) and Ready on the next
#                       (tries counted in nodes/NODE.ready-tries); worker-99 never becomes Ready;
#                       other nodes are Ready at once
#   verify NODE KERNEL  worker-13 FAILS (the update did not boot; exit 1) -> the runbook rolls back
#   revert NODE KERNEL  writes nodes/NODE.reverted and puts KERNEL back in nodes/NODE.kernel
#   label NODE TEXT     writes nodes/NODE.label
#   status NODE         read-only: prints one line about the node
set -eu
state="${OPSBOT_STATE_DIR:?OPSBOT_STATE_DIR is not set}/nodes"
mkdir -p "$state"
cmd="${1:-}"; node="${2:-}"
[ -n "$node" ] || { echo "usage: node.sh COMMAND NODE" >&2; exit 2; }

pods_of() {
  case "$1" in
    worker-0) echo 0 ;;
    worker-7|gpu-*) echo 42 ;;
    *) echo 12 ;;
  esac
}
old_kernel=5.15.0-91
new_kernel=5.15.0-97

case "$cmd" in
  inspect)
    printf '{"node": "%s", "pods": %s, "kernel": "%s"}\n' "$node" "$(pods_of "$node")" "$old_kernel"
    ;;
  cordon)
    date -u +%FT%TZ > "$state/$node.cordoned"
    echo "$node is cordoned: no new pods will be scheduled on it."
    ;;
  uncordon)
    rm -f "$state/$node.cordoned"
    date -u +%FT%TZ > "$state/$node.uncordoned"
    echo "$node is schedulable again."
    ;;
  drain)
    n=$(pods_of "$node")
    echo "$n" > "$state/$node.drained"
    echo "drained $node: evicted $n pods"
    ;;
  patch)
    echo "$new_kernel" > "$state/$node.kernel"
    echo "installed kernel $new_kernel on $node (was $old_kernel)"
    ;;
  ready)
    tries_file="$state/$node.ready-tries"
    tries=$(cat "$tries_file" 2>/dev/null || echo 0)
    tries=$((tries + 1))
    echo "$tries" > "$tries_file"
    case "$node" in
      worker-5) if [ "$tries" -lt 2 ]; then echo "$node is NotReady"; exit 1; fi ;;
      worker-99) echo "$node is NotReady"; exit 1 ;;
    esac
    echo "$node is Ready"
    ;;
  verify)
    want="${3:-}"
    if [ "$node" = worker-13 ]; then
      echo "$node still runs kernel $old_kernel, not $want: the update did not boot"
      exit 1
    fi
    echo "$node runs kernel $want"
    ;;
  revert)
    k="${3:-$old_kernel}"
    echo "$k" > "$state/$node.kernel"
    date -u +%FT%TZ > "$state/$node.reverted"
    echo "reverted $node to kernel $k"
    ;;
  label)
    echo "${3:-}" > "$state/$node.label"
    echo "labelled $node ${3:-}"
    ;;
  status)
    sched=schedulable
    [ -f "$state/$node.cordoned" ] && sched=cordoned
    k=$(cat "$state/$node.kernel" 2>/dev/null || echo "$old_kernel")
    echo "$node: Ready, $(pods_of "$node") pods, kernel $k, $sched"
    ;;
  *)
    echo "unknown command $cmd" >&2; exit 2 ;;
esac
