//! A RabbitMQ virtual host of one test's own (through `rabbitmqctl`, which needs no management plugin), so nodes
//! under test keep the production exchange and queue names without meeting other tests' messages.

use std::process::Command;

use uuid::Uuid;

fn rabbitmqctl(args: &[&str]) -> String {
    let out = Command::new("rabbitmqctl").args(args).output().expect("rabbitmqctl runs");
    assert!(out.status.success(), "rabbitmqctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A vhost `t-<uuid>` with full permissions for `guest`; deleted by [`TestVhost::delete`].
pub struct TestVhost {
    /// The vhost name.
    pub name: String,
}

impl TestVhost {
    /// Creates the vhost.
    pub fn create() -> Self {
        let name = format!("t-{}", Uuid::new_v4().simple());
        rabbitmqctl(&["-q", "add_vhost", &name]);
        let vhost = Self { name };
        vhost.grant();
        vhost
    }

    /// The AMQP URL of the vhost.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:5672/{}", self.name)
    }

    /// Has the broker close every client connection of this vhost; returns how many it closed.
    pub fn close_connections(&self) -> usize {
        let list = rabbitmqctl(&["-q", "list_connections", "pid", "vhost"]);
        let pids: Vec<&str> = list
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .filter(|(_, vhost)| vhost.trim() == self.name)
            .map(|(pid, _)| pid.trim())
            .collect();
        for pid in &pids {
            rabbitmqctl(&["-q", "close_connection", pid, "closed by test"]);
        }
        pids.len()
    }

    /// Takes `guest`'s permissions on the vhost away (reconnects are refused with 403 ACCESS_REFUSED).
    pub fn revoke(&self) {
        rabbitmqctl(&["-q", "clear_permissions", "-p", &self.name, "guest"]);
    }

    /// Gives `guest` full permissions on the vhost (again).
    pub fn grant(&self) {
        rabbitmqctl(&["-q", "set_permissions", "-p", &self.name, "guest", ".*", ".*", ".*"]);
    }

    /// Deletes the vhost and everything in it.
    pub fn delete(self) {
        rabbitmqctl(&["-q", "delete_vhost", &self.name]);
    }
}
