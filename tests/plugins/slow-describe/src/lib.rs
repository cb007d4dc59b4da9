//! A plugin that sleeps in `describe()`, for the test suite: the host reads
//! every plugin's metadata (`plugin list`, the start of a scan), so a
//! describe that never returns must end at the time limit like a run does.

use rampart_sdk::{CheckInfoBuilder, Findings, Host, Plugin, PluginInfo, Settings};

pub struct SlowDescribe;

impl Plugin for SlowDescribe {
    fn info() -> PluginInfo {
        std::thread::sleep(std::time::Duration::from_secs(60));
        PluginInfo {
            name: "slow-describe".into(),
            version: "0.0.1".into(),
            checks: vec![CheckInfoBuilder::new("never", "Never described in time").build()],
            capabilities: Vec::new(),
            settings: Vec::new(),
        }
    }

    fn evaluate(_: &dyn Host, _: &Settings, _: &mut Findings) -> Result<(), String> {
        Ok(())
    }
}

rampart_sdk::export_plugin!(SlowDescribe);
