#!/usr/bin/env bash
# Make sure the services the tests talk to are up: PostgreSQL on 127.0.0.1:5432 and Redis on
# 127.0.0.1:6379. On machines that start them at boot this does nothing; elsewhere it starts
# the local Debian services, or says what is missing.
set -euo pipefail

postgres_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! postgres_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL ..."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
    for _ in $(seq 1 30); do postgres_up && break; sleep 1; done
  fi
  if ! postgres_up; then
    echo "PostgreSQL is not reachable at 127.0.0.1:5432; start it, or point" \
         "ALLIANCE_TEST_POSTGRES_URL at a server where the tests may create databases." >&2
    exit 1
  fi
fi

if ! redis_up; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "starting Redis ..."
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
    for _ in $(seq 1 30); do redis_up && break; sleep 1; done
  fi
  if ! redis_up; then
    echo "Redis is not reachable at 127.0.0.1:6379; start it, or point" \
         "ALLIANCE_TEST_REDIS_URL at a Redis whose DB numbers 11-15 the tests may flush." >&2
    exit 1
  fi
fi
