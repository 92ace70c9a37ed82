# Sourced by the cloud jobs of .gitlab-ci.yml: AWS credentials from GitLab's
# OIDC ID token, never static keys. The job's AWS_ROLE_ARN is a role whose
# trust policy accepts the project's GitLab OIDC provider for this branch or
# environment (README "Delivery"); the AWS SDKs (and so the Pulumi AWS
# provider) assume it from these two variables.
: "${AWS_ROLE_ARN:?set the job's AWS_ROLE_ARN (a CI/CD variable per environment)}"
: "${AWS_ID_TOKEN:?the job needs id_tokens: AWS_ID_TOKEN (aud sts.amazonaws.com)}"
token_file="$(mktemp)"
printf '%s' "$AWS_ID_TOKEN" > "$token_file"
export AWS_WEB_IDENTITY_TOKEN_FILE="$token_file"
export AWS_ROLE_SESSION_NAME="gitlab-${CI_PROJECT_ID:-local}-${CI_PIPELINE_ID:-0}-${CI_JOB_ID:-0}"
