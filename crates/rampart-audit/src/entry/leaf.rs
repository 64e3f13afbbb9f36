//! The leaf input of an entry: its RFC 8785 form, written member by member in sorted order
//! without building a JSON tree (the writer does this for every appended entry). `personal` is
//! written only when present, so entries without it keep the form they always had.

use serde_json::Value;

use super::{
    Actor, Context, Entry, NewEntry, Personal, Resource, SealedPersonal, Status, SubmittedBy,
    UnsealedPersonal,
};

impl Entry {
    /// The RFC 8785 canonical JSON of the entry: the leaf input. Members are written in sorted
    /// order by hand (a test holds this to the generic canonicalizer on every field).
    pub fn canonical_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        Ok(Leaf {
            action: &self.action,
            actor: &self.actor,
            compliance_tags: &self.compliance_tags,
            context: self.context.as_ref(),
            data_classification: self.data_classification.as_deref(),
            details: self.details.as_ref(),
            error_message: self.error_message.as_deref(),
            id: &self.id,
            new_state: self.new_state.as_ref(),
            personal: self.personal.as_ref(),
            previous_state: self.previous_state.as_ref(),
            resource: &self.resource,
            seq: self.seq,
            status: self.status,
            subject_id: self.subject_id.as_deref(),
            submitted_by: &self.submitted_by,
            timestamp: &self.timestamp,
        }
        .write())
    }
}

impl NewEntry {
    /// The canonical JSON the entry will have at `seq` with this `id`, `timestamp` and
    /// `submitted_by` (what [`Entry::canonical_json`] gives for the entry
    /// [`NewEntry::into_entry`] makes), written from the entry as it is, without copying it.
    pub fn canonical_json_at(
        &self,
        seq: u64,
        id: &str,
        timestamp: &str,
        submitted_by: &SubmittedBy,
    ) -> Result<Vec<u8>, UnsealedPersonal> {
        let personal = match &self.personal {
            None => None,
            Some(Personal::Sealed(sealed)) => Some(sealed),
            Some(Personal::Plain(_)) => return Err(UnsealedPersonal),
        };
        Ok(Leaf {
            action: &self.action,
            actor: &self.actor,
            compliance_tags: &self.compliance_tags,
            context: self.context.as_ref(),
            data_classification: self.data_classification.as_deref(),
            details: self.details.as_ref(),
            error_message: self.error_message.as_deref(),
            id,
            new_state: self.new_state.as_ref(),
            personal,
            previous_state: self.previous_state.as_ref(),
            resource: &self.resource,
            seq,
            status: self.status,
            subject_id: self.subject_id.as_deref(),
            submitted_by,
            timestamp,
        }
        .write())
    }
}

/// Every member of an entry, borrowed: what the leaf is written from.
struct Leaf<'a> {
    action: &'a str,
    actor: &'a Actor,
    compliance_tags: &'a [String],
    context: Option<&'a Context>,
    data_classification: Option<&'a str>,
    details: Option<&'a Value>,
    error_message: Option<&'a str>,
    id: &'a str,
    new_state: Option<&'a Value>,
    personal: Option<&'a SealedPersonal>,
    previous_state: Option<&'a Value>,
    resource: &'a Resource,
    seq: u64,
    status: Status,
    subject_id: Option<&'a str>,
    submitted_by: &'a SubmittedBy,
    timestamp: &'a str,
}

impl Leaf<'_> {
    fn write(&self) -> Vec<u8> {
        use crate::canonical::{key, opt_str, opt_value, write_str, write_value};
        let mut out = Vec::with_capacity(1024);
        out.push(b'{');
        key("action", &mut out);
        write_str(self.action, &mut out);
        out.push(b',');
        key("actor", &mut out);
        out.push(b'{');
        key("email", &mut out);
        opt_str(self.actor.email.as_deref(), &mut out);
        out.push(b',');
        key("id", &mut out);
        write_str(&self.actor.id, &mut out);
        out.push(b',');
        key("ip", &mut out);
        opt_str(self.actor.ip.as_deref(), &mut out);
        out.push(b',');
        key("type", &mut out);
        write_str(&self.actor.kind, &mut out);
        out.push(b',');
        key("user_agent", &mut out);
        opt_str(self.actor.user_agent.as_deref(), &mut out);
        out.extend_from_slice(b"},");
        key("compliance_tags", &mut out);
        out.push(b'[');
        for (i, tag) in self.compliance_tags.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(tag, &mut out);
        }
        out.extend_from_slice(b"],");
        key("context", &mut out);
        match &self.context {
            Some(context) => {
                out.push(b'{');
                key("request_id", &mut out);
                opt_str(context.request_id.as_deref(), &mut out);
                out.push(b',');
                key("session_id", &mut out);
                opt_str(context.session_id.as_deref(), &mut out);
                out.push(b',');
                key("team_id", &mut out);
                opt_str(context.team_id.as_deref(), &mut out);
                out.push(b'}');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.push(b',');
        key("data_classification", &mut out);
        opt_str(self.data_classification, &mut out);
        out.push(b',');
        key("details", &mut out);
        opt_value(self.details, &mut out);
        out.push(b',');
        key("error_message", &mut out);
        opt_str(self.error_message, &mut out);
        out.push(b',');
        key("id", &mut out);
        write_str(self.id, &mut out);
        out.push(b',');
        key("new_state", &mut out);
        opt_value(self.new_state, &mut out);
        out.push(b',');
        if let Some(personal) = &self.personal {
            key("personal", &mut out);
            out.push(b'{');
            key("sealed", &mut out);
            write_str(&personal.sealed, &mut out);
            out.push(b',');
            key("subject_key", &mut out);
            write_str(&personal.subject_key, &mut out);
            out.extend_from_slice(b"},");
        }
        key("previous_state", &mut out);
        opt_value(self.previous_state, &mut out);
        out.push(b',');
        key("resource", &mut out);
        out.push(b'{');
        key("id", &mut out);
        opt_str(self.resource.id.as_deref(), &mut out);
        out.push(b',');
        key("name", &mut out);
        opt_str(self.resource.name.as_deref(), &mut out);
        out.push(b',');
        key("type", &mut out);
        write_str(&self.resource.kind, &mut out);
        out.extend_from_slice(b"},");
        key("seq", &mut out);
        write_value(&Value::from(self.seq), &mut out);
        out.push(b',');
        key("status", &mut out);
        write_str(self.status.as_str(), &mut out);
        out.push(b',');
        key("subject_id", &mut out);
        opt_str(self.subject_id, &mut out);
        out.push(b',');
        key("submitted_by", &mut out);
        out.push(b'{');
        key("credential_id", &mut out);
        opt_str(self.submitted_by.credential_id.as_deref(), &mut out);
        out.push(b',');
        key("principal_id", &mut out);
        write_str(&self.submitted_by.principal_id, &mut out);
        out.extend_from_slice(b"},");
        key("timestamp", &mut out);
        write_str(self.timestamp, &mut out);
        out.push(b'}');
        out
    }
}
