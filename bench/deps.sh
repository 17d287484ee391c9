#!/bin/sh
# The benchmark needs, besides the rig's servers, the tools it compares
# mailpull with: mbsync (isync) and doveadm (dovecot-core) in mirror mode,
# fetchmail in INBOX mode.
exec sh "$(dirname "$0")/../.ci/deps.sh" isync dovecot-core fetchmail
