//! The environment section: `ENVIRONMENT` (`local` or `cloud`) and, in the cloud, the
//! `GCP_PROJECT_ID` whose Secret Manager is read for the variables the environment lacks.

use super::resolver::Resolver;
use super::secrets;
use super::values::parse_environment;
use crate::types::{AppError, Environment, Source};

/// Resolves the environment and the project (only in the cloud); in the cloud it then
/// reads the secrets, so that the sections after it see them. A secret that cannot be read
/// is the error.
pub(super) fn resolve(r: &mut Resolver<'_>) -> Result<(Environment, Option<String>), AppError> {
    // ENVIRONMENT is read while `r.environment` is still local, so `.env` may set it.
    let environment = r.typed(
        "ENVIRONMENT",
        Environment::Local,
        "`local` or `cloud`",
        parse_environment,
    );
    let mut gcp_project_id = None;
    if environment == Environment::Cloud {
        gcp_project_id = r
            .env
            .get("GCP_PROJECT_ID")
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty());
        match &gcp_project_id {
            Some(project) => {
                let project = project.clone();
                let secret = r.secret_values.revealed_by(&project);
                r.record("GCP_PROJECT_ID", project, Source::Environment, secret);
            }
            None => {
                r.problem(
                    "GCP_PROJECT_ID",
                    None,
                    "the Google Cloud project id when ENVIRONMENT=cloud",
                );
                r.record("GCP_PROJECT_ID", String::new(), Source::Default, false);
            }
        }
        r.environment = Environment::Cloud;
        if let Some(project) = &gcp_project_id {
            r.fetched = secrets::fetch(r.secrets, project, &r.env, &mut r.secret_values)?;
        }
    }
    Ok((environment, gcp_project_id))
}
