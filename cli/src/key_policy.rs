//! `kms key policy show NAME` and `kms key policy set NAME ...`: a key's usage policy (source
//! ranges, time windows in UTC, a rate limit) binding the apps that use it (docs/api.md, "Usage
//! policies").

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::client::CliError;
use crate::output::{Common, Output, get, post, print_json};

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Print the key's usage policy (`none` when it has none).
    Show {
        /// The key's name.
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// Replace the key's usage policy; with no part given (or --clear), remove it. For a user,
    /// loosening a policy waits for the approval of two other key or security administrators.
    Set(SetArgs),
}

#[derive(Args, Debug)]
pub struct SetArgs {
    /// The key's name.
    pub name: String,
    /// A source range apps must call from, e.g. 10.0.0.0/8 or one address (repeatable).
    #[arg(long = "allow-cidr", value_name = "CIDR")]
    pub allowed_cidrs: Vec<String>,
    /// A time window in UTC, `[DAYS ]HH:MM-HH:MM` with DAYS like mon,tue (none: every day), e.g.
    /// "mon,fri 08:00-18:00" (repeatable).
    #[arg(long = "window", value_name = "WINDOW")]
    pub windows: Vec<String>,
    /// At most this many requests a second from each app (a batch counts each item).
    #[arg(long, value_name = "N")]
    pub rate_per_second: Option<u32>,
    /// Requests allowed in a burst above the rate (default: the rate).
    #[arg(long, value_name = "N", requires = "rate_per_second")]
    pub rate_burst: Option<u32>,
    /// Remove the policy (the same as giving no part).
    #[arg(long, conflicts_with_all = ["allowed_cidrs", "windows", "rate_per_second"])]
    pub clear: bool,
    #[command(flatten)]
    pub common: Common,
}

/// `"mon,fri 08:00-18:00"` → `{"days":["mon","fri"],"start":"08:00","end":"18:00"}`; the server
/// checks the days and times.
pub fn window(text: &str) -> Result<Value, CliError> {
    let bad = || {
        CliError::Input(format!(
            "--window {text:?}: expected [DAYS ]HH:MM-HH:MM, e.g. \"mon,fri 08:00-18:00\""
        ))
    };
    let (days, times) = match text.trim().rsplit_once(' ') {
        Some((days, times)) => (days.trim(), times),
        None => ("", text.trim()),
    };
    let (start, end) = times.split_once('-').ok_or_else(bad)?;
    if start.is_empty() || end.is_empty() {
        return Err(bad());
    }
    let days: Vec<&str> = days
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    Ok(json!({ "days": days, "start": start, "end": end }))
}

/// The request body for `set`: `{}` removes the policy.
pub fn body(args: &SetArgs) -> Result<Value, CliError> {
    let mut body = json!({});
    if args.clear {
        return Ok(body);
    }
    if !args.allowed_cidrs.is_empty() {
        body["allowed_cidrs"] = json!(args.allowed_cidrs);
    }
    if !args.windows.is_empty() {
        let windows = args
            .windows
            .iter()
            .map(|w| window(w))
            .collect::<Result<Vec<_>, _>>()?;
        body["time_windows"] = json!(windows);
    }
    if let Some(per_second) = args.rate_per_second {
        let mut rate = json!({ "per_second": per_second });
        if let Some(burst) = args.rate_burst {
            rate["burst"] = json!(burst);
        }
        body["rate_limit"] = rate;
    }
    Ok(body)
}

fn print(output: Output, policy: &Value) {
    match output {
        Output::Json => print_json(policy),
        Output::Table if policy.is_null() => println!("none"),
        Output::Table => {
            let list = |v: &Value| {
                v.as_array()
                    .filter(|a| !a.is_empty())
                    .map(|a| {
                        a.iter()
                            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_else(|| "any".into())
            };
            println!("Sources:      {}", list(&policy["allowed_cidrs"]));
            let windows: Vec<String> = policy["time_windows"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|w| {
                    let days = match list(&w["days"]).as_str() {
                        "any" => "every day".to_owned(),
                        d => d.to_owned(),
                    };
                    format!(
                        "{days} {}-{} UTC",
                        w["start"].as_str().unwrap_or("?"),
                        w["end"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            let windows = if windows.is_empty() {
                "any".to_owned()
            } else {
                windows.join("; ")
            };
            println!("Time windows: {windows}");
            let rate = &policy["rate_limit"];
            if rate.is_null() {
                println!("Rate limit:   none");
            } else {
                println!(
                    "Rate limit:   {}/s, burst {}",
                    rate["per_second"],
                    if rate["burst"].is_null() {
                        rate["per_second"].clone()
                    } else {
                        rate["burst"].clone()
                    }
                );
            }
        }
    }
}

pub fn run(command: &PolicyCommand) -> Result<(), CliError> {
    match command {
        PolicyCommand::Show { name, common } => {
            let key = get(common, &format!("/v1/admin/keys/{name}"))?;
            print(common.output, &key["policy"]);
        }
        PolicyCommand::Set(args) => {
            let answer = post(
                &args.common,
                &format!("/v1/admin/keys/{}/policy", args.name),
                &body(args)?,
            )?;
            match answer.get("policy") {
                Some(policy) => print(args.common.output, policy),
                // For a user, a loosening becomes an approval request.
                None => crate::output::object(args.common.output, &answer),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_with_and_without_days() {
        assert_eq!(
            window("mon,fri 08:00-18:00").unwrap(),
            json!({"days":["mon","fri"],"start":"08:00","end":"18:00"})
        );
        assert_eq!(
            window("22:00-06:00").unwrap(),
            json!({"days":[],"start":"22:00","end":"06:00"})
        );
        for bad in ["mon", "mon 08:00", "08:00-", ""] {
            let err = window(bad).unwrap_err().to_string();
            assert!(err.contains("expected [DAYS ]HH:MM-HH:MM"), "{bad}: {err}");
        }
    }
}
