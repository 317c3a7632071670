//! The concerns a policy decides, one exported interface (and one world) each.

use std::fmt;

/// One concern of the contract: an exported interface a component may answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Concern {
    /// The error catalog (`errors`).
    Errors,
    /// Configuration (`config`).
    Config,
    /// Cleanup and resource warnings (`cleanup`).
    Cleanup,
    /// Pose post-processing (`pose`).
    Pose,
    /// The performance monitor's metrics (`monitor`).
    Monitor,
    /// The monitor's event rules (`events`, since contract 1.1).
    Events,
    /// A/B experiments (`experiments`).
    Experiments,
    /// The directory organizer (`organizer`).
    Organizer,
    /// Following a couple through a video (`couple`, since contract 1.2).
    Couple,
}

impl Concern {
    /// Every concern, in the contract's order.
    pub const ALL: [Concern; 9] = [
        Concern::Errors,
        Concern::Config,
        Concern::Cleanup,
        Concern::Pose,
        Concern::Monitor,
        Concern::Events,
        Concern::Experiments,
        Concern::Organizer,
        Concern::Couple,
    ];

    /// The interface's name in the package (`cleanup`).
    pub fn name(self) -> &'static str {
        match self {
            Concern::Errors => "errors",
            Concern::Config => "config",
            Concern::Cleanup => "cleanup",
            Concern::Pose => "pose",
            Concern::Monitor => "monitor",
            Concern::Events => "events",
            Concern::Experiments => "experiments",
            Concern::Organizer => "organizer",
            Concern::Couple => "couple",
        }
    }

    /// The interface's full name without a version (`bachata:common/cleanup`).
    pub fn interface(self) -> String {
        format!("{}/{}", env!("BACHATA_WIT_NAME"), self.name())
    }

    /// Whether an export name (`bachata:common/cleanup@1.0.0`) is this concern's interface.
    pub fn matches(self, export: &str) -> bool {
        export
            .strip_prefix(env!("BACHATA_WIT_NAME"))
            .and_then(|rest| rest.strip_prefix('/'))
            .and_then(|rest| rest.strip_prefix(self.name()))
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('@'))
    }

    /// The concern of a call named `<interface>.<function>` (`cleanup.run`).
    pub fn of_function(function: &str) -> Option<Self> {
        let interface = function.split('.').next()?;
        Self::ALL
            .into_iter()
            .find(|concern| concern.name() == interface)
    }

    /// The concern named `name` (`cleanup`).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|concern| concern.name() == name)
    }

    /// Its position in [`Concern::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Concern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_exports_and_calls() {
        assert!(Concern::Cleanup.matches("bachata:common/cleanup@1.0.0"));
        assert!(!Concern::Cleanup.matches("bachata:common/cleanups@1.0.0"));
        assert!(!Concern::Cleanup.matches("other:pkg/cleanup@1.0.0"));
        assert_eq!(Concern::of_function("cleanup.run"), Some(Concern::Cleanup));
        assert_eq!(Concern::of_function("instantiate"), None);
        for (index, concern) in Concern::ALL.into_iter().enumerate() {
            assert_eq!(concern.index(), index);
            assert_eq!(Concern::parse(concern.name()), Some(concern));
        }
    }
}
