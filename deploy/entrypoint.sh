#!/bin/sh
# Container entrypoint (deploy/Dockerfile).
#   serve    run the database migrations, then gunicorn (the default)
#   web      gunicorn only: when something else migrates (deploy/k8s/migrate-job.yaml),
#            so replicas starting together do not race to upgrade the schema
#   migrate  the migrations only
#   *        any other command, e.g. `flask --app torget.app:create_app demo load`
set -eu

migrate() {
    flask --app torget.app:create_app db upgrade
}

web() {
    # exec: gunicorn becomes PID 1's replacement and receives SIGTERM directly.
    exec gunicorn -c /app/deploy/gunicorn.conf.py 'torget.app:create_app()'
}

case "${1:-serve}" in
    serve) migrate; web ;;
    web) web ;;
    migrate) migrate ;;
    *) exec "$@" ;;
esac
