//! A DAG as a value: its tasks, edges, topological order and options.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use chrono::NaiveDateTime;

use crate::error::DagError;
use crate::schedule::Schedule;
use crate::task::{Erased, ErasedTask, ResolvedTaskOptions, Task, TaskOptions, TaskSpec};

/// Options of a DAG (`#[dag(...)]`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DagOptions {
    /// What the DAG does (default: its doc comment).
    pub description: String,
    /// When it runs.
    pub schedule: Schedule,
    /// First logical date, in the DAG's time zone.
    pub start_date: Option<NaiveDateTime>,
    /// Last logical date, in the DAG's time zone.
    pub end_date: Option<NaiveDateTime>,
    /// Whether missed intervals are run when the scheduler starts.
    pub catchup: bool,
    /// Time zone of the schedule and dates.
    pub timezone: chrono_tz::Tz,
    /// Tasks running at once in one run.
    pub max_active_tasks: usize,
    /// Runs active at once.
    pub max_active_runs: usize,
    /// Free-form tags.
    pub tags: Vec<String>,
    /// Defaults for every task's options (Airflow's `default_args`).
    pub default_task_options: TaskOptions,
    /// The DAG fn's source as written (for reports).
    pub source: &'static str,
}

impl Default for DagOptions {
    fn default() -> Self {
        DagOptions {
            description: String::new(),
            schedule: Schedule::None,
            start_date: None,
            end_date: None,
            catchup: false,
            timezone: chrono_tz::UTC,
            max_active_tasks: 16,
            max_active_runs: 16,
            tags: Vec::new(),
            default_task_options: TaskOptions::new(),
            source: "",
        }
    }
}

impl DagOptions {
    /// Sets `description`.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }
    /// Sets `schedule`.
    pub fn schedule(mut self, s: Schedule) -> Self {
        self.schedule = s;
        self
    }
    /// Sets `start_date`.
    pub fn start_date(mut self, d: NaiveDateTime) -> Self {
        self.start_date = Some(d);
        self
    }
    /// Sets `end_date`.
    pub fn end_date(mut self, d: NaiveDateTime) -> Self {
        self.end_date = Some(d);
        self
    }
    /// Sets `catchup`.
    pub fn catchup(mut self, on: bool) -> Self {
        self.catchup = on;
        self
    }
    /// Sets `timezone`.
    pub fn timezone(mut self, tz: chrono_tz::Tz) -> Self {
        self.timezone = tz;
        self
    }
    /// Sets `max_active_tasks` (at least 1).
    pub fn max_active_tasks(mut self, n: usize) -> Self {
        self.max_active_tasks = n.max(1);
        self
    }
    /// Sets `max_active_runs` (at least 1).
    pub fn max_active_runs(mut self, n: usize) -> Self {
        self.max_active_runs = n.max(1);
        self
    }
    /// Sets `tags`.
    pub fn tags<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tags: I) -> Self {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }
    /// Sets the defaults for task options.
    pub fn default_task_options(mut self, o: TaskOptions) -> Self {
        self.default_task_options = o;
        self
    }
}

/// Whether an edge carries data or only orders two tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdgeKind {
    /// The downstream task takes the upstream task's output.
    Data,
    /// Ordering only (`a >> b`).
    Order,
}

/// An edge between two tasks, by index into [`Dag::tasks`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Edge {
    /// Upstream task.
    pub from: usize,
    /// Downstream task.
    pub to: usize,
    /// Data or ordering.
    pub kind: EdgeKind,
}

/// One task of a DAG.
#[derive(Clone)]
pub struct TaskNode {
    id: String,
    spec: TaskSpec,
    declared: TaskOptions,
    options: ResolvedTaskOptions,
    inputs: Vec<usize>,
    /// Per input: whether the task is mapped over it (one instance per element).
    mapped: Vec<bool>,
    upstream: Vec<usize>,
    downstream: Vec<usize>,
    pub(crate) erased: Arc<dyn ErasedTask>,
}

impl TaskNode {
    /// The task id, unique in its DAG.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The static description from `#[task]`.
    pub fn spec(&self) -> &TaskSpec {
        &self.spec
    }
    /// The doc comment.
    pub fn doc(&self) -> &str {
        self.spec.doc
    }
    /// Options in force (task options, then DAG defaults, then built-in defaults).
    pub fn options(&self) -> &ResolvedTaskOptions {
        &self.options
    }
    /// Tasks whose outputs this task takes, in parameter order.
    pub fn inputs(&self) -> &[usize] {
        &self.inputs
    }
    /// Per input (parameter order): whether the task is mapped over it, as `.expand(…)` does.
    pub fn mapped_inputs(&self) -> &[bool] {
        &self.mapped
    }
    /// Whether the task runs once per element of an upstream list (`task.expand(list)`).
    pub fn is_mapped(&self) -> bool {
        self.mapped.contains(&true)
    }
    /// Every upstream task (data and ordering), without repeats.
    pub fn upstream(&self) -> &[usize] {
        &self.upstream
    }
    /// Every downstream task, without repeats.
    pub fn downstream(&self) -> &[usize] {
        &self.downstream
    }
}

impl fmt::Debug for TaskNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskNode")
            .field("id", &self.id)
            .field("options", &self.options)
            .field("inputs", &self.inputs)
            .field("mapped", &self.mapped)
            .field("upstream", &self.upstream)
            .finish_non_exhaustive()
    }
}

/// A DAG: tasks, edges and options. Build one with `#[dag]` or [`DagBuilder`]; run it with
/// [`crate::Runner`].
#[derive(Debug, Clone)]
pub struct Dag {
    id: String,
    options: DagOptions,
    tasks: Vec<TaskNode>,
    edges: Vec<Edge>,
    topo: Vec<usize>,
}

impl Dag {
    /// Starts building a DAG by hand.
    pub fn builder(id: impl Into<String>) -> DagBuilder {
        DagBuilder::new(id)
    }
    /// The DAG id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Its options.
    pub fn options(&self) -> &DagOptions {
        &self.options
    }
    /// Tasks in the order they were declared.
    pub fn tasks(&self) -> &[TaskNode] {
        &self.tasks
    }
    /// A task by id.
    pub fn task(&self, id: &str) -> Option<&TaskNode> {
        self.tasks.iter().find(|t| t.id == id)
    }
    /// Index of a task by id.
    pub fn task_index(&self, id: &str) -> Option<usize> {
        self.tasks.iter().position(|t| t.id == id)
    }
    /// Every edge, without repeats.
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }
    /// Changes the DAG's options, for example its schedule in a test.
    pub fn override_options(&mut self, f: impl FnOnce(&mut DagOptions)) {
        f(&mut self.options);
    }
    /// Overrides some options of one task (options not set in `opts` keep their values), for
    /// example shorter retry delays in a test.
    pub fn override_task_options(
        &mut self,
        task_id: &str,
        opts: TaskOptions,
    ) -> Result<(), DagError> {
        let dag = self.id.clone();
        let t = self
            .tasks
            .iter_mut()
            .find(|t| t.id == task_id)
            .ok_or_else(|| DagError::UnknownTask {
                dag,
                task: task_id.to_owned(),
            })?;
        t.declared = opts.or(t.declared);
        t.options = t.declared.resolve();
        Ok(())
    }

    /// Task indices in a topological order (stable: declaration order breaks ties).
    pub fn topological_order(&self) -> &[usize] {
        &self.topo
    }
    /// Task ids in topological order.
    pub fn topological_ids(&self) -> Vec<&str> {
        self.topo.iter().map(|&i| self.tasks[i].id()).collect()
    }
}

/// The first problem with the tasks of DAG `dag`: an id that cannot be used, a call missing
/// upstream outputs, an id used twice.
fn check_tasks(dag: &str, tasks: &[Pending]) -> Option<DagError> {
    let mut seen = std::collections::HashSet::with_capacity(tasks.len());
    for t in tasks {
        if !is_valid_task_id(&t.id) {
            return Some(DagError::InvalidTaskId {
                dag: dag.to_owned(),
                task: t.id.clone(),
            });
        }
        if t.node.inputs.len() != t.node.spec.inputs.len() {
            return Some(DagError::MissingInputs {
                dag: dag.to_owned(),
                task: t.id.clone(),
                expected: t.node.spec.inputs.len(),
                given: t.node.inputs.len(),
            });
        }
        if !seen.insert(t.id.as_str()) {
            return Some(DagError::DuplicateTask {
                dag: dag.to_owned(),
                task: t.id.clone(),
            });
        }
    }
    None
}

/// One edge per pair of tasks, in the order first given; a data edge wins over an ordering one.
fn one_edge_per_pair(edges: Vec<Edge>) -> Vec<Edge> {
    let mut kinds: HashMap<(usize, usize), EdgeKind> = HashMap::with_capacity(edges.len());
    let mut order = Vec::with_capacity(edges.len());
    for e in edges {
        match kinds.get_mut(&(e.from, e.to)) {
            Some(k) => {
                if e.kind == EdgeKind::Data {
                    *k = EdgeKind::Data;
                }
            }
            None => {
                kinds.insert((e.from, e.to), e.kind);
                order.push((e.from, e.to));
            }
        }
    }
    order
        .into_iter()
        .map(|(from, to)| Edge {
            from,
            to,
            kind: kinds[&(from, to)],
        })
        .collect()
}

/// Airflow's rule for task ids: letters, digits, `_`, `-` and `.`, at most 250 characters (ids
/// become directory names, so nothing else may appear). See [`crate::ids`].
pub fn is_valid_task_id(id: &str) -> bool {
    crate::ids::task(id).is_ok()
}

/// A task added to a [`DagBuilder`], typed by its output.
pub struct Handle<T> {
    node: usize,
    /// Set on the handle `.expand(…)` passes: the task is mapped over this input.
    mapped: bool,
    _output: PhantomData<fn() -> T>,
}

impl<T> Handle<T> {
    /// Index of the task in [`Dag::tasks`].
    pub fn index(&self) -> usize {
        self.node
    }

    /// The same task's output seen one element at a time (what `.expand(list)` passes to the
    /// task call).
    #[doc(hidden)]
    pub fn each<E>(self) -> Handle<E> {
        Handle {
            node: self.node,
            mapped: true,
            _output: PhantomData,
        }
    }

    /// The input a call records for this handle (used by `#[task]`).
    #[doc(hidden)]
    pub fn input(&self) -> Input {
        Input {
            node: self.node,
            mapped: self.mapped,
        }
    }
}

/// One input of a task call: an upstream task, and whether the call maps over it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Input {
    node: usize,
    mapped: bool,
}

impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Handle<T> {}

impl<T> fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Handle({})", self.node)
    }
}

/// A call of a task with its upstream handles, before it is added to a DAG (generated by the
/// macros).
#[doc(hidden)]
pub struct Call<T> {
    spec: TaskSpec,
    erased: Arc<dyn ErasedTask>,
    inputs: Vec<Input>,
    _output: PhantomData<fn() -> T>,
}

impl<T> Call<T> {
    /// A call of `D` with the given inputs.
    pub fn new<D: Task<Output = T>>(inputs: &[Input]) -> Self {
        Call {
            spec: D::spec(),
            erased: Arc::new(Erased::<D>::new()),
            inputs: inputs.to_vec(),
            _output: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Call<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("task", &self.spec.id)
            .field("inputs", &self.inputs)
            .finish()
    }
}

/// Builds a [`Dag`] programmatically (for DAGs whose shape is computed; `#[dag]` uses it too).
///
/// ```
/// use rocket_dag::prelude::*;
/// use rocket_dag::DagBuilder;
///
/// #[task]
/// async fn step() -> Result<(), TaskError> { Ok(()) }
///
/// let mut b = DagBuilder::new("chain");
/// let mut prev = b.add_with_id::<step>("step_0");
/// for i in 1..5 {
///     let next = b.add_with_id::<step>(format!("step_{i}"));
///     b.edge(prev, next);
///     prev = next;
/// }
/// let dag = b.build().unwrap();
/// assert_eq!(dag.tasks().len(), 5);
/// ```
#[derive(Debug)]
pub struct DagBuilder {
    id: String,
    options: DagOptions,
    tasks: Vec<Pending>,
    edges: Vec<Edge>,
    /// The first option given as text that did not parse; [`DagBuilder::build`] returns it.
    invalid: Option<(&'static str, String)>,
}

#[derive(Debug)]
struct Pending {
    id: String,
    node: PendingNode,
}

struct PendingNode {
    spec: TaskSpec,
    erased: Arc<dyn ErasedTask>,
    inputs: Vec<Input>,
}

impl fmt::Debug for PendingNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingNode")
            .field("inputs", &self.inputs)
            .finish()
    }
}

impl DagBuilder {
    /// An empty DAG with default options.
    pub fn new(id: impl Into<String>) -> Self {
        DagBuilder {
            id: id.into(),
            options: DagOptions::default(),
            tasks: Vec::new(),
            edges: Vec::new(),
            invalid: None,
        }
    }

    /// Replaces the options.
    pub fn options(mut self, options: DagOptions) -> Self {
        self.options = options;
        self
    }

    /// Sets an option written as text, as in `#[dag(…)]`: `schedule` (`"@daily"`, a cron
    /// expression), `start_date` and `end_date` (`"2024-01-01"`, `"2024-01-01T06:00:00"`) or
    /// `timezone` (an IANA name). The text is read by the same rules the macro checks it with
    /// ([`rocket_dag_core`]); a value that does not parse makes [`DagBuilder::build`] fail with
    /// [`DagError::InvalidOption`].
    pub fn option_text(mut self, name: &'static str, value: &str) -> Self {
        let parsed = match name {
            "schedule" => Schedule::parse(value)
                .map(|s| self.options.schedule = s)
                .map_err(|e| e.message),
            "start_date" | "end_date" => rocket_dag_core::date::parse(value)
                .map(|d| {
                    if name == "start_date" {
                        self.options.start_date = Some(d);
                    } else {
                        self.options.end_date = Some(d);
                    }
                })
                .map_err(|e| e.why),
            "timezone" => rocket_dag_core::timezone::parse(value)
                .map(|tz| self.options.timezone = tz)
                .map_err(|e| e.to_string()),
            other => Err(format!(
                "`{other}` is not an option written as text; expected one of `schedule`, \
                 `start_date`, `end_date`, `timezone`"
            )),
        };
        if let Err(message) = parsed {
            self.invalid.get_or_insert((name, message));
        }
        self
    }

    /// Adds a task that takes no upstream output, under its default id.
    pub fn add<D: Task>(&mut self) -> Handle<D::Output> {
        self.add_call(Call::new::<D>(&[]), None)
    }

    /// Adds a task that takes no upstream output, under the given id.
    pub fn add_with_id<D: Task>(&mut self, id: impl Into<String>) -> Handle<D::Output> {
        self.add_call(Call::new::<D>(&[]), Some(id.into()))
    }

    /// Adds a call; the id defaults to the task's. Used by the macros.
    #[doc(hidden)]
    pub fn add_call<T>(&mut self, call: Call<T>, id: Option<String>) -> Handle<T> {
        let node = self.tasks.len();
        for input in &call.inputs {
            self.edges.push(Edge {
                from: input.node,
                to: node,
                kind: EdgeKind::Data,
            });
        }
        self.tasks.push(Pending {
            id: id.unwrap_or_else(|| call.spec.id.to_owned()),
            node: PendingNode {
                spec: call.spec,
                erased: call.erased,
                inputs: call.inputs,
            },
        });
        Handle {
            node,
            mapped: false,
            _output: PhantomData,
        }
    }

    /// Adds a call made through `.expand(…)`: the task runs once per element (the cross
    /// product when it maps over several lists) and downstream tasks get the outputs in order.
    #[doc(hidden)]
    pub fn add_mapped_call<T>(&mut self, call: Call<T>, id: Option<String>) -> Handle<Vec<T>> {
        let h = self.add_call(call, id);
        Handle {
            node: h.node,
            mapped: false,
            _output: PhantomData,
        }
    }

    /// Orders two tasks without passing data (`from >> to`).
    pub fn edge<A, B>(&mut self, from: Handle<A>, to: Handle<B>) {
        self.edges.push(Edge {
            from: from.node,
            to: to.node,
            kind: EdgeKind::Order,
        });
    }

    /// Checks ids and acyclicity and returns the DAG.
    pub fn build(self) -> Result<Dag, DagError> {
        let DagBuilder {
            id,
            options,
            tasks,
            edges,
            invalid,
        } = self;
        if let Some((option, message)) = invalid {
            return Err(DagError::InvalidOption {
                dag: id,
                option,
                message,
            });
        }
        if let Err(e) = crate::ids::dag(&id) {
            return Err(DagError::InvalidDagId(e));
        }
        if let Some(e) = check_tasks(&id, &tasks) {
            return Err(e);
        }
        let n = tasks.len();
        if let Some(e) = edges.iter().find(|e| e.from >= n || e.to >= n) {
            return Err(DagError::ForeignHandle {
                dag: id,
                index: e.from.max(e.to),
            });
        }
        let edges = one_edge_per_pair(edges);
        let mut upstream = vec![Vec::new(); n];
        let mut downstream = vec![Vec::new(); n];
        for e in &edges {
            upstream[e.to].push(e.from);
            downstream[e.from].push(e.to);
        }

        let topo = match rocket_dag_core::graph::topological_order(&upstream) {
            Ok(t) => t,
            Err(cycle) => {
                return Err(DagError::Cycle {
                    dag: id,
                    path: cycle.into_iter().map(|i| tasks[i].id.clone()).collect(),
                });
            }
        };

        let defaults = options.default_task_options;
        let tasks = tasks
            .into_iter()
            .zip(upstream.into_iter().zip(downstream))
            .map(|(p, (up, down))| TaskNode {
                declared: p.node.spec.options.or(defaults),
                options: p.node.spec.options.or(defaults).resolve(),
                id: p.id,
                spec: p.node.spec,
                mapped: p.node.inputs.iter().map(|i| i.mapped).collect(),
                inputs: p.node.inputs.iter().map(|i| i.node).collect(),
                upstream: up,
                downstream: down,
                erased: p.node.erased,
            })
            .collect();
        Ok(Dag {
            id,
            options,
            tasks,
            edges,
            topo,
        })
    }
}
