/** A DAG's tasks laid out by elkjs (layered, left to right) and drawn with React Flow, coloured by state when given. */
import '@xyflow/react/dist/style.css';
import { Background, Controls, type Edge, type Node, Position, ReactFlow } from '@xyflow/react';
import ELK from 'elkjs/lib/elk.bundled.js';
import { useEffect, useState } from 'react';
import type { DagTask } from '../api.ts';
import { STATE_COLORS } from './state-badge.tsx';

const elk = new ELK();
const W = 170;
const H = 44;

export function DagGraph({ tasks, states }: { tasks: DagTask[]; states?: Record<string, string> }) {
  const [positions, setPositions] = useState<Record<string, { x: number; y: number }>>({});
  const shape = tasks.map((t) => `${t.id}<${t.after.join(',')}`).join(';');
  // biome-ignore lint/correctness/useExhaustiveDependencies: the layout depends on the graph's shape only
  useEffect(() => {
    let live = true;
    elk
      .layout({
        id: 'root',
        layoutOptions: { 'elk.algorithm': 'layered', 'elk.direction': 'RIGHT', 'elk.spacing.nodeNode': '30' },
        children: tasks.map((t) => ({ id: t.id, width: W, height: H })),
        edges: tasks.flatMap((t) =>
          t.after.map((a) => ({ id: `${a}->${t.id}`, sources: [a], targets: [t.id] })),
        ),
      })
      .then((g) => {
        if (live)
          setPositions(
            Object.fromEntries((g.children ?? []).map((c) => [c.id, { x: c.x ?? 0, y: c.y ?? 0 }])),
          );
      });
    return () => {
      live = false;
    };
  }, [shape]);
  const nodes: Node[] = tasks.map((t) => {
    const state = states?.[t.id];
    return {
      id: t.id,
      position: positions[t.id] ?? { x: 0, y: 0 },
      data: { label: state ? `${t.id} · ${state.replaceAll('_', ' ')}` : t.id },
      className: `task-node task-${STATE_COLORS[state ?? ''] ?? 'none'}`,
      style: { width: W },
      connectable: false,
      sourcePosition: Position.Right,
      targetPosition: Position.Left,
      draggable: false,
      ariaLabel: `task ${t.id}${state ? `: ${state}` : ''}`,
      ...({ 'data-testid': `task-node-${t.id}` } as object),
    };
  });
  const edges: Edge[] = tasks.flatMap((t) =>
    t.after.map((a) => ({
      id: `${a}->${t.id}`,
      source: a,
      target: t.id,
      animated: states?.[t.id] === 'running',
    })),
  );
  return (
    <div className="graph" data-testid="dag-graph" data-laid-out={Object.keys(positions).length > 0}>
      {Object.keys(positions).length > 0 && (
        <ReactFlow
          colorMode="system"
          nodes={nodes}
          edges={edges}
          fitView
          proOptions={{ hideAttribution: true }}
          nodesConnectable={false}
        >
          <Background />
          <Controls showInteractive={false} />
        </ReactFlow>
      )}
    </div>
  );
}
