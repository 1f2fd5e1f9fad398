#!/bin/sh
# An executable handler: the event arrives on stdin, the result leaves on stdout,
# the context is in the environment (FC_REQUEST_ID, FC_FUNCTION_NAME, ...) and in $FC_CONTEXT_FILE.
echo "request $FC_REQUEST_ID for $FC_FUNCTION_NAME" >&2
tr 'a-z' 'A-Z'
