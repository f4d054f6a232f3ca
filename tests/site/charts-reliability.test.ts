/**
 * The reliability diagram on a hand-made artifact whose bins go both ways:
 * underconfident (accuracy above confidence), overconfident (below) and
 * exact. The accuracy bar of every bin must show that bin's accuracy, from
 * the scenegraph's pixels: its top at y(accuracy), its bottom at y(0), and no
 * opaque mark drawn after it over any part of it (a gap bar drawn over the
 * bar's top, as before, made an underconfident bin read at its confidence).
 */
import { parse, View } from 'vega';
import { describe, expect, it } from 'vitest';
import { reliabilityDiagram, type MethodArtifact } from '../../site/charts/calibration.ts';
import { toVega } from '../../site/lib/render.ts';
import { visitScene } from './scene.ts';

interface Item {
  x: number;
  y: number;
  x2?: number;
  y2?: number;
  width?: number;
  height?: number;
  text?: string;
  opacity?: number;
  fillOpacity?: number;
  datum: Record<string, unknown>;
}
interface Node {
  marktype?: string;
  name?: string;
  items: (Item & { items?: Node[] })[];
}

/** Ten bins of 0.1: (lower, count, accuracy, confidence); count 0 leaves a bin empty. */
const binSpecs: [number, number, number | null, number | null][] = [
  [0.0, 0, null, null],
  [0.1, 0, null, null],
  [0.2, 12, 0.5, 0.27], // underconfident by 23 points
  [0.3, 40, 0.25, 0.36], // overconfident
  [0.4, 75, 0.62, 0.45], // underconfident
  [0.5, 130, 0.708, 0.552], // LeNet-5's bin from the review: the bar must reach 70.8%, not stop at 55.2%
  [0.6, 210, 0.55, 0.66], // overconfident
  [0.7, 380, 0.75, 0.75], // exact
  [0.8, 1100, 0.97, 0.86], // underconfident
  [0.9, 8043, 0.991, 0.985], // underconfident, close to 1
];

function fixture(): MethodArtifact {
  const bins = binSpecs.map(([lower, count, accuracy, confidence]) => ({
    lower,
    upper: Number((lower + 0.1).toFixed(1)),
    count,
    accuracy,
    confidence,
    gap: accuracy === null || confidence === null ? null : confidence - accuracy,
  }));
  const total = bins.reduce((sum, bin) => sum + bin.count, 0);
  const ece = bins.reduce((sum, bin) => sum + (bin.count / total) * Math.abs(bin.gap ?? 0), 0);
  return {
    dataset: 'mnist',
    model: 'lenet5',
    method: 'sgd',
    testCount: total,
    variants: [{ predictive: 'map', calibration: { bins, ece, mce: 0.23, accuracy: 0.97, nll: 0.1, curve: [] } }],
  } as unknown as MethodArtifact;
}

function marks(view: View, name: string): Item[] {
  const found: Item[] = [];
  visitScene<Node>(view, (node) => {
    if (node.name === `${name}_marks`) found.push(...node.items);
  });
  return found;
}

/** Names of the marks in drawing order. */
function drawingOrder(view: View): string[] {
  const order: string[] = [];
  visitScene<Node>(view, (node) => {
    if (node.name) order.push(node.name);
  });
  return order;
}

describe('reliability diagram', () => {
  it('draws every bin’s accuracy bar to its accuracy, under- and overconfident alike, with nothing drawn over it', async () => {
    const view = new View(parse(toVega(reliabilityDiagram(fixture()))), { renderer: 'none' });
    await view.runAsync();
    const y = view.scale('y') as unknown as (value: number) => number;
    const [top, bottom] = [y(1), y(0)];
    const plotHeight = bottom - top;
    const bars = marks(view, 'accuracy_bars');
    const filled = binSpecs.filter(([, count]) => count > 0);
    expect(bars).toHaveLength(filled.length);
    // Marks drawn after the accuracy bars, which could cover them.
    const order = drawingOrder(view);
    const later = order.slice(order.indexOf('accuracy_bars_marks') + 1).map((name) => name.replace(/_marks$/, ''));
    expect(later).toContain('gap_bars');
    for (const [lower, , accuracy, confidence] of filled) {
      const bar = bars.find((item) => Math.abs(Number(item.datum.start) - lower) < 0.01)!;
      expect(bar, `bar of bin ${lower}`).toBeDefined();
      // Height in pixels, as a fraction of the plot's height, is the bin's accuracy (independent of the scale object: 0 at the bottom, 1 at the top).
      expect(bar.height! / plotHeight).toBeCloseTo(accuracy!, 6);
      expect(bar.y + bar.height!).toBeCloseTo(bottom, 6);
      // Nothing opaque drawn later overlaps the bar's rectangle.
      for (const name of later) {
        for (const item of marks(view, name)) {
          if (item.width === undefined || item.height === undefined || (item.opacity ?? 1) < 1 || (item.fillOpacity ?? 1) < 1) continue;
          const [left, right] = [Math.min(item.x, item.x + item.width), Math.max(item.x, item.x + item.width)];
          const [upper, lowerEdge] = [Math.min(item.y, item.y + item.height), Math.max(item.y, item.y + item.height)];
          const overlapX = Math.min(right, bar.x + bar.width!) - Math.max(left, bar.x);
          const overlapY = Math.min(lowerEdge, bar.y + bar.height!) - Math.max(upper, bar.y);
          expect(overlapX > 0.01 && overlapY > 0.01, `${name} over the accuracy bar of bin ${lower}`).toBe(false);
        }
      }
      // The gap is drawn too, from the accuracy to the confidence, beside the bar.
      const gap = marks(view, 'gap_bars').find((item) => Math.abs(Number(item.datum.start) - lower) < 0.01)!;
      expect(Math.abs(gap.height!) / plotHeight).toBeCloseTo(Math.abs(confidence! - accuracy!), 6);
      expect(Math.min(gap.y, gap.y + gap.height!)).toBeCloseTo(y(Math.max(accuracy!, confidence!)), 6);
    }
    view.finalize();
  });

  it('writes each bin’s number of images above it', async () => {
    const view = new View(parse(toVega(reliabilityDiagram(fixture()))), { renderer: 'none' });
    await view.runAsync();
    const labels = marks(view, 'bin_counts');
    const filled = binSpecs.filter(([, count]) => count > 0);
    expect(labels.map((label) => label.text)).toEqual(filled.map(([, count]) => (count >= 1000 ? `${Number((count / 1000).toPrecision(2))}k` : String(count))));
    const x = view.scale('x') as unknown as (value: number) => number;
    for (const [index, [lower]] of filled.entries()) expect(labels[index].x).toBeCloseTo(x(lower + 0.05), 6);
    view.finalize();
  });
});
