#!/usr/bin/env bash
# Start the system services the stack and the tests need, when they are not running
# (PostgreSQL, RabbitMQ, Redis). The commands are the ones of the machine's documentation.
set -uo pipefail

wait_port() { # host port seconds
  for _ in $(seq 1 "$3"); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && { exec 3>&- 3<&-; return 0; }
    sleep 1
  done
  return 1
}

if ! wait_port 127.0.0.1 5432 1; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  wait_port 127.0.0.1 5432 60 || { echo "PostgreSQL did not start" >&2; exit 1; }
fi
if ! wait_port 127.0.0.1 5672 1; then
  echo "starting RabbitMQ"
  rabbitmq-server -detached || true
  wait_port 127.0.0.1 5672 120 || { echo "RabbitMQ did not start" >&2; exit 1; }
fi
if ! wait_port 127.0.0.1 6379 1; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  wait_port 127.0.0.1 6379 30 || { echo "Redis did not start" >&2; exit 1; }
fi
# RabbitMQ accepts TCP before it accepts AMQP sessions: wait until it answers.
for _ in $(seq 1 60); do
  rabbitmq-diagnostics -q check_running >/dev/null 2>&1 && break
  sleep 1
done
exit 0
