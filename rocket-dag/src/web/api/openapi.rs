//! The OpenAPI 3 document of what this API implements, built from the same table as the router
//! (so it lists exactly the served paths), with Airflow's operation ids and schema names, so a client generated from
//! it calls the same operations as one generated from Airflow's `v1.yaml`. Served as JSON at
//! `openapi.json` and, since JSON is YAML, at `openapi.yaml` too.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// One operation: a path and method served.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Operation {
    /// Under `/api/v1`.
    pub(crate) path: &'static str,
    /// `get`, `post`, `patch`.
    pub(crate) method: &'static str,
    /// Airflow's operation id.
    pub(crate) id: &'static str,
    summary: &'static str,
    body: Option<&'static str>,
    response: &'static str,
}

const TI: &str = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances";

/// `(path, method, operation id, summary, request body schema, response schema)`.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
);

/// Every operation, by path and method.
const OPERATIONS: &[Row] = &[
    (
        "/dags",
        "get",
        "get_dags",
        "List DAGs",
        None,
        "DAGCollection",
    ),
    (
        "/dags/{dag_id}",
        "get",
        "get_dag",
        "Get basic information about a DAG",
        None,
        "DAG",
    ),
    (
        "/dags/{dag_id}",
        "patch",
        "patch_dag",
        "Update a DAG",
        Some("DAG"),
        "DAG",
    ),
    (
        "/dags/{dag_id}/tasks",
        "get",
        "get_tasks",
        "Get tasks for DAG",
        None,
        "TaskCollection",
    ),
    (
        "/dags/{dag_id}/tasks/{task_id}",
        "get",
        "get_task",
        "Get simplified representation of a task",
        None,
        "Task",
    ),
    (
        "/dags/{dag_id}/dagRuns",
        "get",
        "get_dag_runs",
        "List DAG runs",
        None,
        "DAGRunCollection",
    ),
    (
        "/dags/{dag_id}/dagRuns",
        "post",
        "post_dag_run",
        "Trigger a new DAG run",
        Some("DAGRun"),
        "DAGRun",
    ),
    (
        "/dags/{dag_id}/dagRuns/{dag_run_id}",
        "get",
        "get_dag_run",
        "Get a DAG run",
        None,
        "DAGRun",
    ),
    (
        "/dags/{dag_id}/dagRuns/{dag_run_id}",
        "patch",
        "update_dag_run_state",
        "Modify a DAG run",
        Some("UpdateDagRunState"),
        "DAGRun",
    ),
    (
        TI,
        "get",
        "get_task_instances",
        "List task instances",
        None,
        "TaskInstanceCollection",
    ),
    (
        "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}",
        "get",
        "get_task_instance",
        "Get a task instance",
        None,
        "TaskInstance",
    ),
    (
        "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}",
        "patch",
        "patch_task_instance",
        "Updates the state of a task instance",
        Some("UpdateTaskInstance"),
        "TaskInstanceReference",
    ),
    (
        "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/listMapped",
        "get",
        "get_mapped_task_instances",
        "List mapped task instances",
        None,
        "TaskInstanceCollection",
    ),
    (
        "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/{map_index}",
        "get",
        "get_mapped_task_instance",
        "Get a mapped task instance",
        None,
        "TaskInstance",
    ),
    (
        "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/{map_index}",
        "patch",
        "patch_mapped_task_instance",
        "Updates the state of a mapped task instance",
        Some("UpdateTaskInstance"),
        "TaskInstanceReference",
    ),
    (
        "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{task_try_number}",
        "get",
        "get_log",
        "Get logs",
        None,
        "InlineResponse200",
    ),
    (
        "/dags/{dag_id}/clearTaskInstances",
        "post",
        "post_clear_task_instances",
        "Clear a set of task instances",
        Some("ClearTaskInstances"),
        "TaskInstanceReferenceCollection",
    ),
    (
        "/health",
        "get",
        "get_health",
        "Get instance status",
        None,
        "HealthInfo",
    ),
    (
        "/version",
        "get",
        "get_version",
        "Get version information",
        None,
        "VersionInfo",
    ),
    (
        "/openapi.json",
        "get",
        "get_openapi_json",
        "This document, as JSON",
        None,
        "Document",
    ),
    (
        "/openapi.yaml",
        "get",
        "get_openapi_yaml",
        "This document (JSON is YAML)",
        None,
        "Document",
    ),
];

/// Every operation, by path and method.
pub(crate) fn operations() -> Vec<Operation> {
    OPERATIONS
        .iter()
        .map(|&(path, method, id, summary, body, response)| Operation {
            path,
            method,
            id,
            summary,
            body,
            response,
        })
        .collect()
}

/// The schemas, as `name: "field:type,…"` (`?` after a type: nullable).
const SCHEMAS: &[(&str, &str)] = &[
    (
        "DAG",
        "dag_id:string,root_dag_id:string?,is_paused:boolean?,is_active:boolean?,is_subdag:boolean,last_parsed_time:string?,last_pickled:string?,last_expired:string?,scheduler_lock:boolean?,pickle_id:string?,default_view:string?,fileloc:string,file_token:string,owners:array,description:string?,schedule_interval:object?,timetable_description:string?,tags:array?,max_active_tasks:integer?,max_active_runs:integer?,has_task_concurrency_limits:boolean?,has_import_errors:boolean?,next_dagrun:string?,next_dagrun_data_interval_start:string?,next_dagrun_data_interval_end:string?,next_dagrun_create_after:string?",
    ),
    ("DAGCollection", "dags:array,total_entries:integer"),
    (
        "Task",
        "class_ref:object,operator_name:string,task_id:string,owner:string,start_date:string?,end_date:string?,trigger_rule:string,extra_links:array,depends_on_past:boolean,wait_for_downstream:boolean,retries:number,queue:string?,pool:string,pool_slots:number,execution_timeout:object?,retry_delay:object?,retry_exponential_backoff:boolean,priority_weight:number,weight_rule:string,ui_color:string,ui_fgcolor:string,template_fields:array,sub_dag:object?,downstream_task_ids:array,params:object,is_mapped:boolean",
    ),
    ("TaskCollection", "tasks:array,total_entries:integer"),
    (
        "DAGRun",
        "dag_run_id:string?,dag_id:string,logical_date:string?,execution_date:string?,start_date:string?,end_date:string?,data_interval_start:string?,data_interval_end:string?,last_scheduling_decision:string?,run_type:string,state:string,external_trigger:boolean,conf:object,note:string?",
    ),
    ("DAGRunCollection", "dag_runs:array,total_entries:integer"),
    ("UpdateDagRunState", "state:string"),
    (
        "TaskInstance",
        "task_id:string,dag_id:string,dag_run_id:string,map_index:integer,execution_date:string,start_date:string?,end_date:string?,duration:number?,state:string?,try_number:integer,max_tries:integer,hostname:string,unixname:string,pool:string,pool_slots:integer,queue:string?,priority_weight:integer?,operator:string?,queued_when:string?,pid:integer?,executor_config:string,note:string?,sla_miss:object?,rendered_fields:object,trigger:object?,triggerer_job:object?",
    ),
    (
        "TaskInstanceCollection",
        "task_instances:array,total_entries:integer",
    ),
    ("UpdateTaskInstance", "dry_run:boolean,new_state:string"),
    (
        "TaskInstanceReference",
        "task_id:string,dag_id:string,execution_date:string,dag_run_id:string",
    ),
    ("TaskInstanceReferenceCollection", "task_instances:array"),
    (
        "ClearTaskInstances",
        "dry_run:boolean,task_ids:array,start_date:string,end_date:string,only_failed:boolean,only_running:boolean,include_subdags:boolean,include_parentdag:boolean,reset_dag_runs:boolean,dag_run_id:string?,include_upstream:boolean,include_downstream:boolean,include_future:boolean,include_past:boolean",
    ),
    (
        "InlineResponse200",
        "continuation_token:string,content:string",
    ),
    (
        "HealthInfo",
        "metadatabase:object,scheduler:object,triggerer:object,dag_processor:object",
    ),
    ("VersionInfo", "version:string,git_version:string?"),
    ("Document", "openapi:string,info:object,paths:object"),
    (
        "Error",
        "type:string,title:string,status:number,detail:string?,instance:string?",
    ),
];

fn schema(fields: &str) -> Value {
    let mut props = Map::new();
    for f in fields.split(',') {
        let (name, ty) = f.split_once(':').unwrap_or((f, "string"));
        let (ty, nullable) = match ty.strip_suffix('?') {
            Some(t) => (t, true),
            None => (ty, false),
        };
        let mut p = json!({ "type": ty });
        if nullable {
            p["nullable"] = true.into();
        }
        if ty == "array" {
            p["items"] = json!({});
        }
        props.insert(name.to_owned(), p);
    }
    json!({ "type": "object", "properties": props })
}

/// The parameters of a path: its `{…}` segments.
fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let ty = if matches!(name, "map_index" | "task_try_number") {
                "integer"
            } else {
                "string"
            };
            json!({ "name": name, "in": "path", "required": true, "schema": { "type": ty } })
        })
        .collect()
}

/// The document.
pub(crate) fn document() -> Value {
    let mut paths = Map::new();
    for Operation {
        path,
        method,
        id,
        summary,
        body,
        response,
    } in operations()
    {
        let mut op = json!({
            "operationId": id,
            "summary": summary,
            "parameters": path_parameters(path),
            "responses": {
                "200": {
                    "description": "Success.",
                    "content": { "application/json": {
                        "schema": { "$ref": format!("#/components/schemas/{response}") }
                    } }
                },
                "default": {
                    "description": "An error, as problem JSON.",
                    "content": { "application/problem+json": {
                        "schema": { "$ref": "#/components/schemas/Error" }
                    } }
                }
            }
        });
        if let Some(body) = body {
            op["requestBody"] = json!({
                "required": true,
                "content": { "application/json": {
                    "schema": { "$ref": format!("#/components/schemas/{body}") }
                } }
            });
        }
        let entry = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
        entry[method] = op;
    }
    let schemas: Map<String, Value> = SCHEMAS
        .iter()
        .map(|(name, fields)| ((*name).to_owned(), schema(fields)))
        .collect();
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "rocket-dag: Airflow API (Stable), the implemented part",
            "version": "1.0.0",
            "description": "The endpoints of Apache Airflow 2.8.1's stable REST API that rocket-dag implements, with the same paths, operation ids, field names and problem JSON.",
        },
        "servers": [{ "url": "/api/v1" }],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "Basic": { "type": "http", "scheme": "basic" },
                "Bearer": { "type": "http", "scheme": "bearer" },
            },
        },
        "security": [{ "Basic": [] }, { "Bearer": [] }],
    })
}

/// `GET /openapi.json`.
pub(super) async fn json() -> Response {
    super::json(document())
}

/// `GET /openapi.yaml` (JSON is a subset of YAML 1.2).
pub(super) async fn yaml() -> Response {
    let mut r = serde_json::to_string_pretty(&document())
        .unwrap_or_default()
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_served_once_and_documented() {
        // Building the router panics on an operation without a handler or served twice.
        let _ = super::super::routes();
        let doc = document();
        let documented: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|ops| ops.as_object().unwrap().len())
            .sum();
        assert_eq!(documented, operations().len());
        // Every schema referred to exists.
        let text = doc.to_string();
        for part in text.split("#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap();
            assert!(doc["components"]["schemas"].get(name).is_some(), "{name}");
        }
    }
}
