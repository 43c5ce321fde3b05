#!/bin/sh
if [ -e "$OPSBOT_STATE_DIR/paused/$1" ]; then
  echo "The $1 pipeline is paused."
else
  echo "The $1 pipeline is running on schedule."
fi
