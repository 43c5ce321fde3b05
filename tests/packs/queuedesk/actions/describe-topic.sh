#!/bin/sh
echo "Topic $1 in $2 (simulated): 12 partitions, replication factor 3, retention 7 days"
