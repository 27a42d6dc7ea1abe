import { HashRouter, Navigate, Route, Routes } from "react-router-dom";

import { Layout } from "./components/Layout";
import { LiveProvider } from "./live";
import { ArenaPage } from "./pages/Arena";
import { EquityPage } from "./pages/Equity";
import { GridDetailPage } from "./pages/GridDetail";
import { JournalPage } from "./pages/Journal";
import { LogsPage } from "./pages/Logs";
import { PortfolioPage } from "./pages/Portfolio";
import { PositionsPage } from "./pages/Positions";
import { ScannerPage } from "./pages/Scanner";
import { SettingsPage } from "./pages/Settings";
import { WfoPage } from "./pages/Wfo";

// Hash routes (/#/wfo): FastAPI serves the bundle as plain static files, so a reload of a deep link
// must not ask the server for a path it does not have.
export function App() {
  return (
    <LiveProvider>
      <HashRouter>
        <Routes>
          <Route element={<Layout />}>
            <Route index element={<ScannerPage />} />
            <Route path="grid" element={<GridDetailPage />} />
            <Route path="grid/:runnerId" element={<GridDetailPage />} />
            <Route path="equity" element={<EquityPage />} />
            <Route path="positions" element={<PositionsPage />} />
            <Route path="arena" element={<ArenaPage />} />
            <Route path="wfo" element={<WfoPage />} />
            <Route path="portfolio" element={<PortfolioPage />} />
            <Route path="journal" element={<JournalPage />} />
            <Route path="logs" element={<LogsPage />} />
            <Route path="settings" element={<SettingsPage />} />
            <Route path="*" element={<Navigate to="/" replace />} />
          </Route>
        </Routes>
      </HashRouter>
    </LiveProvider>
  );
}
