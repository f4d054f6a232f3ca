/** Walking a Vega view's scenegraph, for the chart tests that read what was drawn. */
import type { View } from 'vega';

/** A scenegraph node as the tests see it: a mark or group whose items may hold nested nodes. */
export interface SceneTreeNode<N> {
  items?: { items?: N[] }[];
}

/** Visit every node of the view's scenegraph, parents before children, in drawing order. */
export function visitScene<N extends SceneTreeNode<N>>(view: View, visit: (node: N) => void): void {
  const walk = (node: N) => {
    visit(node);
    for (const item of node.items ?? []) for (const child of item.items ?? []) walk(child);
  };
  walk((view.scenegraph() as unknown as { root: N }).root);
}
