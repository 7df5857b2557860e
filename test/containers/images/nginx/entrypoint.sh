#!/bin/sh
# The official image's entrypoint, as far as our stack uses it: before starting nginx it renders
# /etc/nginx/templates/**/*.template with envsubst into /etc/nginx/conf.d (its 20-envsubst-on-templates.sh:
# only variables that are set, and only those matching NGINX_ENVSUBST_FILTER when given), then runs the
# command. NGINX_ENTRYPOINT_QUIET_LOGS only quietens what it prints.
set -e
if [ "$1" = nginx ] || [ "$1" = nginx-debug ]; then
  template_dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
  suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
  output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
  filter="${NGINX_ENVSUBST_FILTER:-}"
  if [ -d "$template_dir" ]; then
    # shellcheck disable=SC2016
    defined_envs=$(printf '${%s} ' $(awk "END { for (name in ENVIRON) { print ( name ~ /${filter}/ ) ? name : \"\" } }" < /dev/null))
    find "$template_dir" -follow -type f -name "*$suffix" -print | while read -r template; do
      relative_path="${template#"$template_dir/"}"
      output_path="$output_dir/${relative_path%"$suffix"}"
      mkdir -p "$(dirname "$output_path")"
      [ -n "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ] || echo "$0: running envsubst on $template to $output_path"
      envsubst "$defined_envs" < "$template" > "$output_path"
    done
  fi
fi
exec "$@"
