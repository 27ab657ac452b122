#!/usr/bin/env bash
# What the plugin's tests need (tests/plugin): PHP's command line with its MySQL driver,
# Debian's PHPUnit, Debian's WordPress (at /usr/share/wordpress) and MariaDB, whose server
# must answer at 127.0.0.1:3306 to root with an empty password (the tests make a database per
# run and drop it). Idempotent: installs only what is missing, starts MariaDB only when it is
# down. Run by `make test`.
set -euo pipefail

packages=(php-cli php-mysql php-xml php-mbstring phpunit wordpress mariadb-client mariadb-server)
mariadb_up() { mysql -h 127.0.0.1 -P 3306 -u root -e "SELECT 1" >/dev/null 2>&1; }

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ] && mariadb_up; then
  exit 0
fi

if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing ${missing[*]} for the WordPress plugin's tests ..."
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
      apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
      apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
  else
    # Not fatal here: tests/plugin fails with the same advice, the other tests still run.
    echo "missing ${missing[*]} and cannot install them here (needs root and apt-get);" \
         "the plugin's tests need them: sudo apt-get install -y ${missing[*]}" >&2
  fi
fi

if ! mariadb_up && command -v mysqld_safe >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  if ! (echo > /dev/tcp/127.0.0.1/3306) 2>/dev/null; then
    echo "starting MariaDB ..."
    (mysqld_safe --bind-address=127.0.0.1 --port=3306 >/dev/null 2>&1 &)
    for _ in $(seq 1 30); do mariadb_up && break; sleep 1; done
  fi
fi
if ! mariadb_up; then
  echo "MariaDB does not let root in without a password at 127.0.0.1:3306; the plugin's" \
       "WordPress tests need it (ALTER USER root@localhost IDENTIFIED VIA" \
       "mysql_native_password USING PASSWORD('') on a throw-away test server)" >&2
fi
