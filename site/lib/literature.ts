/**
 * Published reference numbers to set our own beside (facts from papers, with
 * their source); the page shows them in a table of their own, never as ours.
 */
export interface ReferenceResult {
  setting: string;
  method: string;
  /** Mean confidence on the unknown set, as a fraction. */
  confidence: number;
  auroc: number;
  source: string;
}

/** Reproductions of Laplace Redux (Daxberger et al. 2021), LeNet-class networks trained on MNIST. */
export const laplaceReduxMnist: ReferenceResult[] = [
  { setting: 'MNIST → Fashion-MNIST', method: 'MAP', confidence: 0.63, auroc: 0.989, source: 'daxberger2021' },
  { setting: 'MNIST → Fashion-MNIST', method: 'Last-layer KFAC Laplace', confidence: 0.583, auroc: 0.985, source: 'daxberger2021' },
  { setting: 'MNIST → Fashion-MNIST', method: 'Deep ensemble', confidence: 0.552, auroc: 0.993, source: 'daxberger2021' },
];
