//! The `vane` binary: parse the command line, load settings (one clear line and exit code 2 when they are
//! invalid), start telemetry, and hand over to the library.

use clap::Parser;
use vane::cli::Cli;
use vane::settings::Settings;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("vane: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Some(code) = vane::run_tool(&cli, &settings) {
        return code;
    }
    let telemetry = match vane::telemetry::init(&settings.telemetry) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("vane: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    let result = vane::run(&cli, settings).await;
    telemetry.shutdown().await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "vane stopped with an error");
            eprintln!("vane: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
