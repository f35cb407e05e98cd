// A Grafana dashboard as Grafana's own published types describe it (@grafana/schema, pinned in
// package.json): the dashboard model, with each panel's options and field config typed by its
// plugin's types (timeseries, stat, text) instead of the dashboard model's open Record<string, unknown>.
// The tests compile `const dashboard: Board = <the JSON>` with tsc --strict: a key the types do
// not have (an excess property of an object literal) or a value of the wrong type is an error.
import type * as S from "@grafana/schema";
import type * as TimeSeries from "@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen";
import type * as Stat from "@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen";
import type * as Text from "@grafana/schema/dist/esm/raw/composable/text/panelcfg/x/TextPanelCfg_types.gen";

// JSON carries an enum's value, not the TypeScript enum: each string enum becomes the union of
// its values (`${E}`); numeric enums already accept their member values.
export type Plain<T> = T extends string ? `${T}`
  : T extends number | boolean | null | undefined ? T
  : T extends Array<infer U> ? Array<Plain<U>>
  : T extends object ? { [K in keyof T]: Plain<T[K]> }
  : T;

type Fields<Custom> = Omit<S.FieldConfigSource, "defaults"> & {
  defaults: Omit<S.FieldConfig, "custom"> & { custom?: Custom };
};
type Viz<Kind extends string, Options, Custom> = Omit<S.Panel, "type" | "options" | "fieldConfig"> & {
  type: Kind;
  options: Options;
  fieldConfig: Fields<Custom>;
};

export type Board = Plain<Omit<S.Dashboard, "panels"> & {
  panels: Array<
    | S.RowPanel
    | Viz<"timeseries", TimeSeries.Options, TimeSeries.FieldConfig>
    | Viz<"stat", Stat.Options, Record<string, never>>
    | Viz<"text", Text.Options, Record<string, never>>
  >;
}>;
