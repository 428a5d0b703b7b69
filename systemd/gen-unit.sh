#!/bin/sh
# gen-unit.sh OUTPUT -- write one of the three services from
# drain-and-rollout.service.in (next to this script); OUTPUT's file name
# says which:
#   drain-and-rollout@.service               tag D, one Deployment
#   drain-and-rollout-statefulset@.service   tag S, one StatefulSet
#   drain-and-rollout-all.service            tag A, DRAIN_SELECTOR's batch
# A template line starting with @TAGS@ is kept, without the tags, only when
# TAGS holds the unit's letter; @TARGET@ becomes Deployment or StatefulSet.
# Run by `make` (units-systemd); the tests run `make` too.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: gen-unit.sh OUTPUT" >&2
	exit 2
fi
out=$1
case ${out##*/} in
drain-and-rollout@.service)		tag=D target=Deployment ;;
drain-and-rollout-statefulset@.service)	tag=S target=StatefulSet ;;
drain-and-rollout-all.service)		tag=A target= ;;
*)
	echo "gen-unit.sh: $out: not a unit of drain-and-rollout.service.in" \
	    "(drain-and-rollout@.service, drain-and-rollout-statefulset@.service" \
	    "or drain-and-rollout-all.service)" >&2
	exit 2
	;;
esac

in=$(dirname "$0")/drain-and-rollout.service.in
sed -e "/^@[DSA]*@/{
/^@[DSA]*$tag[DSA]*@/!d
s/^@[DSA]*@//
}" -e "s/@TARGET@/$target/g" "$in" >"$out.tmp"
if grep -n '@[A-Z][A-Z]*@' "$out.tmp" >&2; then
	echo "gen-unit.sh: $in: a tag or placeholder left in $out (above)" >&2
	rm -f "$out.tmp"
	exit 1
fi
mv "$out.tmp" "$out"
