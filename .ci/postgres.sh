# Source me: install and start Debian's PostgreSQL, make a role for the tests, and export
# RNN_TEST_POSTGRES, the server's URL (tests/test_postgres.py creates its own databases).
if ! command -v pg_ctlcluster >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
cluster=$(pg_lsclusters --no-header | awk 'NR == 1 {print $1 " " $2}')
pg_ctlcluster $cluster start 2>/dev/null || true
su postgres -c "psql -qc \"DROP ROLE IF EXISTS grader\"" >/dev/null
su postgres -c "psql -qc \"CREATE ROLE grader LOGIN CREATEDB PASSWORD 'grader'\"" >/dev/null
port=$(pg_lsclusters --no-header | awk 'NR == 1 {print $3}')
export RNN_TEST_POSTGRES="postgresql://grader:grader@127.0.0.1:$port"
