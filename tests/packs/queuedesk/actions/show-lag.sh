#!/bin/sh
echo "Lag of $2 group $1 (simulated):"
echo "  orders    p0  1204"
echo "  orders    p1   877"
echo "  total lag 2081"
