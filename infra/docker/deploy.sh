#!/bin/sh
# One-shot (the compose `deploy` service, or by hand in the checkout): the work pool, its
# queues (`default` for the CPU worker, `gpu` for the deployments that train), the
# Instagram concurrency limit and every deployment of prefect.yaml. Idempotent.
set -eu
pool=${PICME_WORK_POOL:-picme}
prefect work-pool inspect "$pool" >/dev/null 2>&1 ||
  prefect work-pool create "$pool" --type process
for queue in default gpu; do
  prefect work-queue inspect "$queue" --pool "$pool" >/dev/null 2>&1 ||
    prefect work-queue create "$queue" --pool "$pool"
done
prefect gcl inspect instagram >/dev/null 2>&1 || prefect gcl create instagram --limit 1
cd "${PICME_PROJECT_DIR:-.}"
prefect --no-prompt deploy --all
