import { createRouter, createWebHashHistory } from 'vue-router';

// Hash routes: the hub serves one index.html and needs no fallback route.
export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', name: 'control', component: () => import('./views/ControlRoom.vue') },
    { path: '/cases', name: 'cases', component: () => import('./views/CasesView.vue') },
    {
      path: '/cases/:id',
      name: 'case',
      component: () => import('./views/CaseDetailView.vue'),
      props: (r) => ({ id: Number(r.params.id) }),
    },
    { path: '/crew', name: 'crew', component: () => import('./views/CrewApp.vue') },
    {
      path: '/reports',
      name: 'reports',
      component: () => import('./views/ReportQueueView.vue'),
    },
    { path: '/kpi', name: 'kpi', component: () => import('./views/KpiView.vue') },
    {
      path: '/evaluation',
      name: 'evaluation',
      component: () => import('./views/EvaluationView.vue'),
    },
    { path: '/wall', name: 'wall', component: () => import('./views/WallScreen.vue') },
    {
      path: '/admin',
      component: () => import('./views/AdminView.vue'),
      children: [
        { path: '', name: 'admin', redirect: '/admin/users' },
        ...(
          [
            ['users', () => import('./views/admin/UsersView.vue')],
            ['tokens', () => import('./views/admin/TokensView.vue')],
            ['devices', () => import('./views/admin/DevicesView.vue')],
            ['org', () => import('./views/admin/OrgView.vue')],
            ['routing', () => import('./views/admin/RoutingView.vue')],
            ['deadlines', () => import('./views/admin/DeadlinesView.vue')],
            ['rules', () => import('./views/admin/RulesView.vue')],
            ['calendar', () => import('./views/admin/CalendarView.vue')],
            ['webhooks', () => import('./views/admin/WebhooksView.vue')],
            ['ops', () => import('./views/admin/OpsView.vue')],
          ] as const
        ).map(([path, component]) => ({ path, name: `admin-${path}`, component })),
      ],
    },
  ],
});
